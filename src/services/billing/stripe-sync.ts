import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import {
  type AccountKey,
  findBillingAccount,
  lockBillingAccount,
  replaceInvoices,
  replaceSubscriptions,
  resumeSuspendedResources,
  updateAccountState,
} from '../../db/billing.repository.ts';
import { withTransaction } from '../../db/transaction.ts';
import type { Database } from '../../db/types.ts';
import { type PlanId, plans } from '../../schemas/plans.ts';
import { type AuditActor, recordAudit } from '../audit.ts';
import { orgOfAccount } from './accounts.ts';

/**
 * Converging the mirror with Stripe. Whatever a webhook said, the sync re-reads the customer's
 * subscriptions and invoices from Stripe and rewrites the account's mirror and state from them,
 * so duplicate, missing and out-of-order events all end in the same place. Two syncs of one
 * account can overlap: each notes when it started reading, and the write is skipped when a sync
 * that started later has already written (its read is at least as fresh).
 *
 * Tenancy: the account is named by the caller (an authorized scope, or the customer of a verified
 * webhook); nothing here crosses to another account.
 */

/** Subscription statuses that still grant the plan (past_due and unpaid do, until suspension). */
const GRANTING = new Set(['active', 'trialing', 'past_due', 'unpaid']);
const UNPAID = new Set(['past_due', 'unpaid']);

export const STRIPE_ACTOR: AuditActor = {
  actorType: 'system',
  actorId: 'stripe',
  actorLabel: 'Stripe',
  requestId: null,
  ip: null,
  userAgent: null,
};

function toDate(seconds: number | null | undefined): Date | null {
  return typeof seconds === 'number' ? new Date(seconds * 1000) : null;
}

/** Which plan a subscription is for: its metadata, else the plan whose base price it carries. */
export function planOfSubscription(subscription: Stripe.Subscription): PlanId {
  const named = subscription.metadata?.plan;
  if (named && named in plans) return named as PlanId;
  const keys = new Set(subscription.items.data.map((item) => item.price.lookup_key));
  for (const plan of Object.values(plans)) {
    if (plan.base_price && keys.has(plan.base_price.lookup_key)) return plan.id;
  }
  return 'free';
}

async function listAll<T extends { id: string }>(
  page: (startingAfter?: string) => Promise<Stripe.ApiList<T>>,
  max = 500,
): Promise<T[]> {
  const all: T[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const list = await page(startingAfter);
    all.push(...list.data);
    const last = list.data.at(-1);
    if (!list.has_more || !last || all.length >= max) return all;
    startingAfter = last.id;
  }
}

export interface SyncOutcome {
  plan: PlanId;
  subscriptionId: string | null;
  status: string | null;
  skipped: boolean;
}

export async function syncAccountFromStripe(
  db: Kysely<Database>,
  stripe: Stripe,
  accountKey: AccountKey,
  now: Date,
  actor: AuditActor = STRIPE_ACTOR,
): Promise<SyncOutcome> {
  // Only the key: callers may pass a whole account row, whose other columns must not leak into inserts.
  const key: AccountKey = { scope_type: accountKey.scope_type, scope_id: accountKey.scope_id };
  const account = await findBillingAccount(db, key);
  const customer = account?.stripe_customer_id;
  if (!customer) return { plan: 'free', subscriptionId: null, status: null, skipped: true };
  const startedAt = now;
  const [subscriptions, invoices] = await Promise.all([
    listAll((startingAfter) =>
      stripe.subscriptions.list({
        customer,
        status: 'all',
        limit: 100,
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      }),
    ),
    listAll(
      (startingAfter) =>
        stripe.invoices.list({
          customer,
          limit: 100,
          ...(startingAfter ? { starting_after: startingAfter } : {}),
        }),
      100,
    ),
  ]);
  const rank = (plan: PlanId) => Object.keys(plans).indexOf(plan);
  const granting = subscriptions
    .filter((subscription) => GRANTING.has(subscription.status))
    .sort((a, b) => rank(planOfSubscription(b)) - rank(planOfSubscription(a)) || b.created - a.created);
  const current = granting[0];
  const plan = current ? planOfSubscription(current) : 'free';
  const unpaid = current ? UNPAID.has(current.status) : false;

  return withTransaction(db, async (trx) => {
    const locked = await lockBillingAccount(trx, key);
    if (locked.synced_at && locked.synced_at > startedAt) {
      return {
        plan: locked.plan as PlanId,
        subscriptionId: locked.stripe_subscription_id,
        status: null,
        skipped: true,
      };
    }
    await replaceSubscriptions(
      trx,
      key,
      subscriptions.map((subscription) => {
        const first = subscription.items.data[0];
        return {
          stripe_subscription_id: subscription.id,
          stripe_customer_id: customer,
          status: subscription.status,
          plan: planOfSubscription(subscription),
          current_period_start: toDate(first?.current_period_start),
          current_period_end: toDate(first?.current_period_end),
          cancel_at_period_end: subscription.cancel_at_period_end,
          canceled_at: toDate(subscription.canceled_at),
          items: subscription.items.data.map((item) => ({
            id: item.id,
            price: item.price.id,
            lookup_key: item.price.lookup_key,
            quantity: item.quantity ?? null,
          })),
          created_at: new Date(subscription.created * 1000),
          synced_at: now,
        };
      }),
    );
    await replaceInvoices(
      trx,
      key,
      invoices
        .filter((invoice): invoice is Stripe.Invoice & { id: string } => typeof invoice.id === 'string')
        .map((invoice) => ({
          stripe_invoice_id: invoice.id,
          stripe_customer_id: customer,
          stripe_subscription_id: subscriptionIdOf(invoice),
          number: invoice.number,
          status: invoice.status ?? 'draft',
          amount_due: invoice.amount_due,
          amount_paid: invoice.amount_paid,
          currency: invoice.currency,
          period_start: toDate(invoice.period_start),
          period_end: toDate(invoice.period_end),
          hosted_invoice_url: invoice.hosted_invoice_url ?? null,
          invoice_pdf: invoice.invoice_pdf ?? null,
          created_at: new Date(invoice.created * 1000),
          synced_at: now,
        })),
    );
    const state = {
      plan,
      stripe_subscription_id: current?.id ?? null,
      past_due_since: unpaid ? (locked.past_due_since ?? now) : null,
      suspended_at: unpaid ? locked.suspended_at : null,
      synced_at: startedAt,
    };
    await updateAccountState(trx, key, state, now);
    const resumed = !unpaid && locked.suspended_at ? await resumeSuspendedResources(trx, key, now) : 0;
    const before = {
      plan: locked.plan,
      stripe_subscription_id: locked.stripe_subscription_id,
      past_due: locked.past_due_since !== null,
    };
    const after = { plan, stripe_subscription_id: state.stripe_subscription_id, past_due: unpaid };
    if (JSON.stringify(before) !== JSON.stringify(after) || resumed > 0) {
      await recordAudit(
        trx,
        actor,
        {
          action: 'billing.subscription_changed',
          targetType: key.scope_type,
          targetId: key.scope_id,
          orgId: await orgOfAccount(trx, key),
          before,
          after: { ...after, ...(resumed > 0 ? { resumed_resources: resumed } : {}) },
        },
        now,
      );
    }
    return {
      plan,
      subscriptionId: state.stripe_subscription_id,
      status: current?.status ?? null,
      skipped: false,
    };
  });
}

function subscriptionIdOf(invoice: Stripe.Invoice): string | null {
  const parent = invoice.parent?.subscription_details?.subscription;
  if (typeof parent === 'string') return parent;
  if (parent && typeof parent === 'object') return parent.id;
  return null;
}
