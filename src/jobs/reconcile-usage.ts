import { createStripeClient } from '../services/stripe-client.ts';
import { reconcileUsage } from '../services/usage/reconciliation.ts';
import type { Job } from './job.ts';

/**
 * Compares our usage totals with Stripe's meter event summaries every hour, for the last
 * USAGE_RECONCILE_DAYS days (src/services/usage/reconciliation.ts). Stripe calls in `gather`.
 */
export const reconcileUsageJob: Job = {
  name: 'reconcile-usage',
  schedule: '17 * * * *',
  description: 'Compares usage totals with Stripe meter event summaries; stores and audits drift.',
  async gather({ db, clock, config, log }) {
    const stripe = createStripeClient(config);
    if (!stripe) return 'billing is off';
    const summary = await reconcileUsage(
      db,
      stripe,
      clock.now(),
      { days: config.USAGE_RECONCILE_DAYS, delayMinutes: config.USAGE_REPORT_DELAY_MINUTES },
      log,
    );
    return `checked ${summary.periods} periods of ${summary.accounts} accounts: ${summary.drifting} drifting, ${summary.failed} accounts failed`;
  },
  async run({ gathered }) {
    return String(gathered);
  },
};
