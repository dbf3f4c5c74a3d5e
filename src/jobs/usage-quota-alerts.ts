import { accountsWithUsageSince } from '../db/billing-usage.repository.ts';
import { plans } from '../schemas/plans.ts';
import { billingPolicy } from '../services/billing/policy.ts';
import { accountBilling, announceQuotaThresholds, quotaUsage } from '../services/billing/quotas.ts';
import type { Job } from './job.ts';

/** Longest billing period, so an account whose period began before it is still looked at. */
const LOOKBACK_MS = 32 * 24 * 60 * 60 * 1000;

/**
 * Usage alerts: for every account that used a quota metric recently, compares its usage in the
 * current period with its plan's quotas and notifies billing members at 50 / 80 / 100 % (in-app
 * and by email through the mail outbox). Idempotent — each (account, metric, period, threshold)
 * is announced once per user by notify()'s dedupe key — and safe to run twice at once.
 */
export const usageQuotaAlertsJob: Job = {
  name: 'usage-quota-alerts',
  schedule: '*/5 * * * *',
  description:
    'Notifies billing members when usage reaches 50, 80 and 100 % of a plan quota (once each per period).',
  async run({ trx, clock, config }) {
    const now = clock.now();
    const policy = billingPolicy(config, Boolean(config.STRIPE_SECRET_KEY));
    const metrics = [...new Set(Object.values(plans).flatMap((plan) => Object.keys(plan.quotas)))];
    let accounts = 0;
    let notified = 0;
    for (const { org_id, ...key } of await accountsWithUsageSince(
      trx,
      metrics,
      new Date(now.getTime() - LOOKBACK_MS),
    )) {
      const { plan, period } = await accountBilling(trx, key, policy, now);
      const quotas = await quotaUsage(trx, key, plan, period);
      accounts++;
      notified += await announceQuotaThresholds(trx, {
        key,
        orgId: org_id,
        plan,
        period,
        quotas,
        now,
        baseUrl: config.BASE_URL,
      });
    }
    return `checked ${accounts} accounts, ${notified} notifications`;
  },
};
