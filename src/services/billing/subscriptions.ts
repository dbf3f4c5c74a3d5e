import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import { type AccountKey, findBillingAccount, listSubscriptions } from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { AppError, conflict } from '../../lib/errors.ts';
import { type Plan, planFor, priceLookupKeys } from '../../schemas/plans.ts';
import { type AuditActor, recordAudit } from '../audit.ts';
import { ensureStripeCustomer, orgOfAccount } from './accounts.ts';
import { syncAccountFromStripe } from './stripe-sync.ts';

/**
 * What a user does with a subscription: subscribe through Stripe Checkout, manage payment in the
 * Stripe customer portal, change plan after a proration preview, cancel at period end and resume.
 * Every change is made in Stripe first; the mirror follows by a sync right away (and by the
 * webhooks), and every change writes an audit event. Callers hold `manage_billing` on the scope.
 */

/** Stripe price ids for lookup keys (prices live in Stripe; plans name them by lookup key). */
async function pricesFor(stripe: Stripe, plan: Plan): Promise<Stripe.Price[]> {
  const keys = priceLookupKeys(plan);
  const list = await stripe.prices.list({ lookup_keys: keys, active: true, limit: 100 });
  const byKey = new Map(list.data.map((price) => [price.lookup_key, price]));
  const missing = keys.filter((key) => !byKey.has(key));
  if (missing.length > 0) {
    throw new AppError(
      503,
      'Service Unavailable',
      `Billing is misconfigured: Stripe has no active price with lookup key ${missing.join(', ')}. An administrator must create it.`,
    );
  }
  return keys.map((key) => byKey.get(key) as Stripe.Price);
}

function lineItems(prices: Stripe.Price[]) {
  // Metered prices take no quantity; usage is reported to their meters.
  return prices.map((price) =>
    price.recurring?.usage_type === 'metered' ? { price: price.id } : { price: price.id, quantity: 1 },
  );
}

function paidPlan(planId: string): Plan {
  const plan = planFor(planId);
  if (plan.id !== planId || !plan.base_price) {
    throw new AppError(422, 'Unprocessable Content', `"${planId}" is not a plan you can subscribe to.`, [
      { pointer: '/plan', message: 'choose a paid plan' },
    ]);
  }
  return plan;
}

async function activeSubscription(db: Kysely<Database>, key: AccountKey) {
  const account = await findBillingAccount(db, key);
  if (!account?.stripe_subscription_id) return null;
  const rows = await listSubscriptions(db, key);
  return rows.find((row) => row.stripe_subscription_id === account.stripe_subscription_id) ?? null;
}

export async function startCheckout(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  input: { plan: string; name: string; email: string | null; baseUrl: string; returnPath: string },
  actor: AuditActor,
  now: Date,
): Promise<string> {
  const plan = paidPlan(input.plan);
  const current = await activeSubscription(db, key);
  if (current) {
    throw conflict(
      `This ${key.scope_type} already has a ${planFor(current.plan).display_name} subscription (${current.status}); change its plan instead of subscribing again.`,
    );
  }
  const customer = await ensureStripeCustomer(db, stripe, key, { name: input.name, email: input.email }, now);
  const prices = await pricesFor(stripe, plan);
  const metadata = { ktrlplane_scope_type: key.scope_type, ktrlplane_scope_id: key.scope_id, plan: plan.id };
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer,
    line_items: lineItems(prices),
    client_reference_id: `${key.scope_type}:${key.scope_id}`,
    metadata,
    subscription_data: { metadata },
    success_url: `${input.baseUrl}${input.returnPath}/success?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${input.baseUrl}${input.returnPath}`,
  });
  if (!session.url)
    throw new AppError(502, 'Bad Gateway', 'Stripe did not return a checkout page; try again.');
  await recordAudit(
    db,
    actor,
    {
      action: 'billing.checkout_started',
      targetType: key.scope_type,
      targetId: key.scope_id,
      orgId: await orgOfAccount(db, key),
      after: { plan: plan.id, checkout_session: session.id },
    },
    now,
  );
  return session.url;
}

export async function openPortal(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  returnUrl: string,
): Promise<string> {
  const account = await findBillingAccount(db, key);
  if (!account?.stripe_customer_id) {
    throw conflict('There is no Stripe customer for this account yet: subscribe to a plan first.');
  }
  const session = await stripe.billingPortal.sessions.create({
    customer: account.stripe_customer_id,
    return_url: returnUrl,
  });
  return session.url;
}

/** The subscription's items after a change to `plan`: the base price swapped, metered prices kept or swapped. */
async function itemsForPlan(stripe: Stripe, subscriptionId: string, plan: Plan) {
  const subscription = await stripe.subscriptions.retrieve(subscriptionId);
  const prices = await pricesFor(stripe, plan);
  const wanted = new Map(prices.map((price) => [price.id, price]));
  const items: Stripe.SubscriptionUpdateParams.Item[] = [];
  for (const item of subscription.items.data) {
    if (wanted.has(item.price.id)) wanted.delete(item.price.id);
    else items.push({ id: item.id, deleted: true });
  }
  for (const price of wanted.values()) {
    items.push(
      price.recurring?.usage_type === 'metered' ? { price: price.id } : { price: price.id, quantity: 1 },
    );
  }
  return items;
}

export interface PlanChangePreview {
  plan: string;
  currency: string;
  /** What the next invoice comes to with the change, prorations included (smallest unit). */
  amount_due: number;
  lines: Array<{ description: string | null; amount: number; proration: boolean }>;
}

export async function previewPlanChange(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  planId: string,
): Promise<PlanChangePreview> {
  const plan = paidPlan(planId);
  const current = await activeSubscription(db, key);
  if (!current) throw conflict('There is no subscription to change: subscribe first.');
  if (current.plan === plan.id) throw conflict(`The subscription is already on ${plan.display_name}.`);
  const invoice = await stripe.invoices.createPreview({
    customer: current.stripe_customer_id,
    subscription: current.stripe_subscription_id,
    subscription_details: {
      items: await itemsForPlan(stripe, current.stripe_subscription_id, plan),
      proration_behavior: 'create_prorations',
    },
  });
  return {
    plan: plan.id,
    currency: invoice.currency,
    amount_due: invoice.amount_due,
    lines: invoice.lines.data.map((line) => ({
      description: line.description,
      amount: line.amount,
      proration: Boolean(line.parent?.subscription_item_details?.proration),
    })),
  };
}

export async function changePlan(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  planId: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  const plan = paidPlan(planId);
  const current = await activeSubscription(db, key);
  if (!current) throw conflict('There is no subscription to change: subscribe first.');
  if (current.plan === plan.id) throw conflict(`The subscription is already on ${plan.display_name}.`);
  await stripe.subscriptions.update(
    current.stripe_subscription_id,
    {
      items: await itemsForPlan(stripe, current.stripe_subscription_id, plan),
      proration_behavior: 'create_prorations',
      metadata: { plan: plan.id },
    },
    { idempotencyKey: `ktrlplane-plan-${current.stripe_subscription_id}-${plan.id}-${now.getTime()}` },
  );
  await recordAudit(
    db,
    actor,
    {
      action: 'billing.plan_changed',
      targetType: key.scope_type,
      targetId: key.scope_id,
      orgId: await orgOfAccount(db, key),
      before: { plan: current.plan },
      after: { plan: plan.id },
    },
    now,
  );
  await syncAccountFromStripe(db, stripe, key, now, actor);
}

/** Cancels at the end of the period (`cancel`) or takes that back (`resume`). */
export async function setCancelAtPeriodEnd(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  cancel: boolean,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  const current = await activeSubscription(db, key);
  if (!current) throw conflict('There is no subscription to cancel or resume.');
  if (current.cancel_at_period_end === cancel) {
    throw conflict(
      cancel ? 'The subscription already ends with this period.' : 'The subscription is not set to end.',
    );
  }
  await stripe.subscriptions.update(current.stripe_subscription_id, { cancel_at_period_end: cancel });
  await recordAudit(
    db,
    actor,
    {
      action: cancel ? 'billing.subscription_cancel_scheduled' : 'billing.subscription_resumed',
      targetType: key.scope_type,
      targetId: key.scope_id,
      orgId: await orgOfAccount(db, key),
      after: { cancel_at_period_end: cancel, period_end: current.current_period_end?.toISOString() ?? null },
    },
    now,
  );
  await syncAccountFromStripe(db, stripe, key, now, actor);
}
