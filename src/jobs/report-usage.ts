import { createStripeClient } from '../services/stripe-client.ts';
import { planMeterReports, sendDueReports } from '../services/usage/reporting.ts';
import type { Job } from './job.ts';

/**
 * Reports closed hours of usage to Stripe Billing Meters through the outbox
 * (src/services/usage/reporting.ts): plans new revisions in a short transaction of its own, then
 * sends due events one by one with leases — all in `gather`, outside the job's transaction, so
 * no connection waits on Stripe. Safe to overlap and to kill at any point.
 */
export const reportUsageJob: Job = {
  name: 'report-usage',
  schedule: '*/5 * * * *',
  description: 'Sends meter events for closed hours (and corrections) to Stripe, through the outbox.',
  async gather({ db, clock, config, log }) {
    const plan = await planMeterReports(db, clock.now(), config.USAGE_REPORT_DELAY_MINUTES);
    const stripe = createStripeClient(config);
    if (!stripe) return `planned ${plan.planned} meter events (billing is off: nothing sent)`;
    const sent = await sendDueReports(db, stripe, () => clock.now(), log);
    return `planned ${plan.planned} meter events${plan.skipped ? ' (another run was planning)' : ''}; sent ${sent.sent}, ${sent.retried} to retry, ${sent.failed} failed${sent.rateLimited ? ', stopped by a rate limit' : ''}`;
  },
  async run({ gathered }) {
    return String(gathered);
  },
};
