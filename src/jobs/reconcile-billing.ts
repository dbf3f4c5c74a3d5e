import {
  accountsToSuspend,
  accountsWithCustomers,
  suspendPaidResources,
  updateAccountState,
} from '../db/billing.repository.ts';
import { plans } from '../schemas/plans.ts';
import { recordAudit } from '../services/audit.ts';
import { orgOfAccount } from '../services/billing/accounts.ts';
import { STRIPE_ACTOR, syncAccountFromStripe } from '../services/billing/stripe-sync.ts';
import { createStripeClient } from '../services/stripe-client.ts';
import type { Job } from './job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Re-syncs every account that has a Stripe customer from Stripe, once a day: a webhook that never
 * arrived heals here. Runs in `gather` (Stripe calls, outside the job's transaction); each account
 * syncs in its own short transaction, and one failing account does not stop the others.
 */
export const reconcileBillingJob: Job = {
  name: 'reconcile-billing',
  schedule: '41 3 * * *',
  description:
    'Re-reads every Stripe customer’s subscriptions and invoices and rewrites the mirror (heals missed webhooks).',
  async gather({ db, clock, config, log }) {
    const stripe = createStripeClient(config);
    if (!stripe) return 'billing is off';
    let synced = 0;
    let failed = 0;
    for (const account of await accountsWithCustomers(db)) {
      try {
        await syncAccountFromStripe(db, stripe, account, clock.now());
        synced++;
      } catch (error) {
        failed++;
        log.warn('billing reconciliation failed for an account', {
          err: error,
          scope_type: account.scope_type,
          scope_id: account.scope_id,
        });
      }
    }
    return `synced ${synced} accounts, ${failed} failed`;
  },
  async run({ gathered }) {
    return String(gathered);
  },
};

/**
 * Suspends the paid resources of accounts past due for longer than BILLING_GRACE_DAYS: they leave
 * the operator's query (settings kept) and come back when the sync sees the invoice paid.
 */
export const enforceBillingGraceJob: Job = {
  name: 'enforce-billing-grace',
  schedule: '17 * * * *',
  description: 'Suspends paid resources of accounts past due for longer than BILLING_GRACE_DAYS.',
  async run({ trx, clock, config }) {
    const now = clock.now();
    let suspended = 0;
    const accounts = await accountsToSuspend(
      trx,
      new Date(now.getTime() - config.BILLING_GRACE_DAYS * DAY_MS),
    );
    for (const account of accounts) {
      const count = await suspendPaidResources(trx, account, plans.free.limits.skus, now);
      await updateAccountState(
        trx,
        account,
        {
          plan: account.plan,
          stripe_subscription_id: account.stripe_subscription_id,
          past_due_since: account.past_due_since,
          suspended_at: now,
          synced_at: account.synced_at ?? now,
        },
        now,
      );
      await recordAudit(
        trx,
        STRIPE_ACTOR,
        {
          action: 'billing.resources_suspended',
          targetType: account.scope_type,
          targetId: account.scope_id,
          orgId: await orgOfAccount(trx, account),
          after: { suspended_resources: count, past_due_since: account.past_due_since?.toISOString() },
        },
        now,
      );
      suspended += count;
    }
    return `suspended ${suspended} resources of ${accounts.length} past-due accounts`;
  },
};
