import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import { type AccountKey, ensureBillingAccount, setStripeCustomer } from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';

/** The organization an account belongs to (itself, or its project's organization). */
export async function orgOfAccount(db: Kysely<Database>, key: AccountKey): Promise<string | null> {
  if (key.scope_type === 'organization') return key.scope_id;
  const project = await db
    .selectFrom('ktrlplane.projects')
    .select('org_id')
    .where('project_id', '=', key.scope_id)
    .executeTakeFirst();
  return project?.org_id ?? null;
}

/**
 * The account's Stripe customer, created the first time it is needed. Money contract: the create
 * carries an idempotency key derived from the account, so a double click, a retry after a timeout
 * or two servers racing all get the same customer from Stripe; and the id is stored only when
 * none is stored yet, so the first one recorded wins and stays.
 */
export async function ensureStripeCustomer(
  db: Kysely<Database>,
  stripe: Stripe,
  key: AccountKey,
  details: { name: string; email: string | null },
  now: Date,
): Promise<string> {
  const account = await ensureBillingAccount(db, key);
  if (account.stripe_customer_id) return account.stripe_customer_id;
  const customer = await stripe.customers.create(
    {
      name: details.name,
      ...(details.email ? { email: details.email } : {}),
      metadata: { ktrlplane_scope_type: key.scope_type, ktrlplane_scope_id: key.scope_id },
    },
    { idempotencyKey: `ktrlplane-customer-${key.scope_type}-${key.scope_id}` },
  );
  return setStripeCustomer(db, key, customer.id, now);
}

/** The account a verified Stripe object belongs to, from the metadata ktrlplane put on it. */
export function accountKeyFromMetadata(metadata: Stripe.Metadata | null | undefined): AccountKey | null {
  const type = metadata?.ktrlplane_scope_type;
  const id = metadata?.ktrlplane_scope_id;
  if ((type === 'organization' || type === 'project') && typeof id === 'string' && id) {
    return { scope_type: type, scope_id: id };
  }
  return null;
}
