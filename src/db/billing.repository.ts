import type { Kysely, Selectable, Transaction } from 'kysely';
import type {
  BillingAccountsTable,
  Database,
  InvoicesTable,
  StripeEventsTable,
  SubscriptionsTable,
} from './types.ts';

/**
 * Billing accounts and their mirror of Stripe. An account is keyed by its scope (an organization,
 * or a project that pays for itself). Callers have authorized that scope; the webhook path finds
 * accounts by Stripe customer id, which Stripe itself vouches for (verified signature).
 *
 * Rows with `mirrors_organization` are not accounts: they copy an organization's Stripe ids onto
 * each of its projects for the production Auth0 client gate (migration 0015). Every query here
 * leaves them out, and a project that starts paying for itself turns its mirror into its own row.
 */
export type BillingAccount = Selectable<BillingAccountsTable>;
export type SubscriptionRow = Selectable<SubscriptionsTable>;
export type InvoiceRow = Selectable<InvoicesTable>;
export type StripeEventRow = Selectable<StripeEventsTable>;

export interface AccountKey {
  scope_type: 'organization' | 'project';
  scope_id: string;
}

function selectAccount(db: Kysely<Database>, key: AccountKey) {
  return db
    .selectFrom('ktrlplane.billing_accounts')
    .selectAll()
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .where('mirrors_organization', '=', false);
}

/** Creates the account; a project's mirror row becomes the project's own (empty) account. */
async function insertAccountIfMissing(db: Kysely<Database>, key: AccountKey): Promise<void> {
  await db
    .insertInto('ktrlplane.billing_accounts')
    .values({ scope_type: key.scope_type, scope_id: key.scope_id })
    .onConflict((oc) =>
      oc
        .columns(['scope_type', 'scope_id'])
        .doUpdateSet({ mirrors_organization: false, stripe_customer_id: null, stripe_subscription_id: null })
        .where('ktrlplane.billing_accounts.mirrors_organization', '=', true),
    )
    .execute();
}

export async function findBillingAccount(
  db: Kysely<Database>,
  key: AccountKey,
): Promise<BillingAccount | undefined> {
  return selectAccount(db, key).executeTakeFirst();
}

/**
 * The account row, created when missing, locked until the transaction ends: every check of a plan
 * limit and the write it guards take this lock, so parallel requests cannot both pass a limit.
 */
export async function lockBillingAccount(
  trx: Transaction<Database>,
  key: AccountKey,
): Promise<BillingAccount> {
  await insertAccountIfMissing(trx, key);
  return selectAccount(trx, key).forUpdate().executeTakeFirstOrThrow();
}

export async function ensureBillingAccount(db: Kysely<Database>, key: AccountKey): Promise<BillingAccount> {
  await insertAccountIfMissing(db, key);
  return selectAccount(db, key).executeTakeFirstOrThrow();
}

/** Records the account's Stripe customer, unless another request recorded one first. */
export async function setStripeCustomer(
  db: Kysely<Database>,
  key: AccountKey,
  customerId: string,
  now: Date,
): Promise<string> {
  await db
    .updateTable('ktrlplane.billing_accounts')
    .set({ stripe_customer_id: customerId, updated_at: now })
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .where('mirrors_organization', '=', false)
    .where('stripe_customer_id', 'is', null)
    .execute();
  const account = await findBillingAccount(db, key);
  return account?.stripe_customer_id ?? customerId;
}

export async function accountByCustomer(
  db: Kysely<Database>,
  customerId: string,
): Promise<BillingAccount | undefined> {
  return db
    .selectFrom('ktrlplane.billing_accounts')
    .selectAll()
    .where('stripe_customer_id', '=', customerId)
    .where('mirrors_organization', '=', false)
    .executeTakeFirst();
}

export async function accountsWithCustomers(db: Kysely<Database>): Promise<BillingAccount[]> {
  return db
    .selectFrom('ktrlplane.billing_accounts')
    .selectAll()
    .where('stripe_customer_id', 'is not', null)
    .where('mirrors_organization', '=', false)
    .orderBy('synced_at', (ob) => ob.asc().nullsFirst())
    .execute();
}

/** Past-due accounts whose grace period ended before `before` and that are not suspended yet. */
export async function accountsToSuspend(db: Kysely<Database>, before: Date): Promise<BillingAccount[]> {
  return db
    .selectFrom('ktrlplane.billing_accounts')
    .selectAll()
    .where('past_due_since', '<=', before)
    .where('suspended_at', 'is', null)
    .where('mirrors_organization', '=', false)
    .execute();
}

export interface AccountState {
  plan: string;
  stripe_subscription_id: string | null;
  past_due_since: Date | null;
  suspended_at: Date | null;
  synced_at: Date;
}

export async function updateAccountState(
  db: Kysely<Database>,
  key: AccountKey,
  state: AccountState,
  now: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.billing_accounts')
    .set({ ...state, updated_at: now })
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .where('mirrors_organization', '=', false)
    .execute();
}

/** Replaces the account's subscription mirror with what Stripe answered. */
export async function replaceSubscriptions(
  trx: Transaction<Database>,
  key: AccountKey,
  rows: Array<Omit<SubscriptionRow, 'scope_type' | 'scope_id' | 'items'> & { items: unknown[] }>,
): Promise<void> {
  await trx
    .deleteFrom('ktrlplane.subscriptions')
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .execute();
  if (rows.length === 0) return;
  await trx
    .insertInto('ktrlplane.subscriptions')
    .values(rows.map((row) => ({ ...row, ...key, items: JSON.stringify(row.items) })))
    .execute();
}

export async function replaceInvoices(
  trx: Transaction<Database>,
  key: AccountKey,
  rows: Array<Omit<InvoiceRow, 'scope_type' | 'scope_id'>>,
): Promise<void> {
  await trx
    .deleteFrom('ktrlplane.invoices')
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .execute();
  if (rows.length === 0) return;
  await trx
    .insertInto('ktrlplane.invoices')
    .values(rows.map((row) => ({ ...row, ...key })))
    .execute();
}

export async function listSubscriptions(db: Kysely<Database>, key: AccountKey): Promise<SubscriptionRow[]> {
  return db
    .selectFrom('ktrlplane.subscriptions')
    .selectAll()
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function listInvoices(
  db: Kysely<Database>,
  key: AccountKey,
  limit: number,
): Promise<InvoiceRow[]> {
  return db
    .selectFrom('ktrlplane.invoices')
    .selectAll()
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

// ——— Webhook events ———

/** Stores a verified event once; answers false for a duplicate delivery. */
export async function insertStripeEvent(
  db: Kysely<Database>,
  event: { event_id: string; type: string; customer_id: string | null; stripe_created: Date },
  now: Date,
): Promise<boolean> {
  const inserted = await db
    .insertInto('ktrlplane.stripe_events')
    .values({ ...event, received_at: now, next_attempt_at: now })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/**
 * Takes the oldest due, unprocessed event and leases it until `leaseUntil` (counting the attempt),
 * in one statement: a row locked by another processor is skipped, and a leased row is not due
 * again until its lease ends — so a processor that dies mid-way only delays the event.
 */
export async function leaseDueStripeEvent(
  db: Kysely<Database>,
  now: Date,
  leaseUntil: Date,
  maxAttempts: number,
): Promise<StripeEventRow | undefined> {
  return db
    .updateTable('ktrlplane.stripe_events')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), next_attempt_at: leaseUntil }))
    .where('event_id', '=', (eb) =>
      eb
        .selectFrom('ktrlplane.stripe_events')
        .select('event_id')
        .where('processed_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .where('attempts', '<', maxAttempts)
        .orderBy('stripe_created')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
}

export async function markStripeEventProcessed(
  db: Kysely<Database>,
  eventId: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.stripe_events')
    .set({ processed_at: now, last_error: null })
    .where('event_id', '=', eventId)
    .execute();
}

export async function markStripeEventFailed(
  db: Kysely<Database>,
  eventId: string,
  error: string,
  nextAttemptAt: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.stripe_events')
    .set({ last_error: error.slice(0, 1000), next_attempt_at: nextAttemptAt })
    .where('event_id', '=', eventId)
    .execute();
}

/** Events that are not processed (pending, retrying or given up), newest first, for the dashboard. */
export async function unprocessedStripeEvents(
  db: Kysely<Database>,
  limit: number,
): Promise<StripeEventRow[]> {
  return db
    .selectFrom('ktrlplane.stripe_events')
    .selectAll()
    .where('processed_at', 'is', null)
    .orderBy('received_at', 'desc')
    .limit(limit)
    .execute();
}

/** Which of these organizations are past due (for the banner on their pages), and suspended. */
export async function pastDueOrganizations(
  db: Kysely<Database>,
  orgIds: readonly string[],
): Promise<Array<{ org_id: string; suspended: boolean }>> {
  if (orgIds.length === 0) return [];
  const rows = await db
    .selectFrom('ktrlplane.billing_accounts')
    .select(['scope_id', 'suspended_at'])
    .where('scope_type', '=', 'organization')
    .where('scope_id', 'in', [...orgIds])
    .where('past_due_since', 'is not', null)
    .execute();
  return rows.map((row) => ({ org_id: row.scope_id, suspended: row.suspended_at !== null }));
}

// ——— Counting what plans limit ———

/** Projects of an organization. */
export async function countProjects(db: Kysely<Database>, orgId: string): Promise<number> {
  const row = await db
    .selectFrom('ktrlplane.projects')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Resources an account pays for: a project account's project, or an organization's projects that
 * do not pay for themselves. Deleted-but-not-yet-gone rows do not count.
 */
export async function countResourcesOfAccount(db: Kysely<Database>, key: AccountKey): Promise<number> {
  const row = await db
    .selectFrom('ktrlplane.resources')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('deployment_state', '!=', 'deleting')
    .where('project_id', 'in', projectsOfAccount(db, key))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** What the billing dashboard needs of each resource an account pays for (deleting ones included). */
export interface AccountResource {
  resource_id: string;
  project_id: string;
  name: string;
  type: string;
  sku: string;
  settings_json: unknown;
  deployment_state: string;
  created_at: Date;
}

export async function listResourcesOfAccount(
  db: Kysely<Database>,
  key: AccountKey,
): Promise<AccountResource[]> {
  return db
    .selectFrom('ktrlplane.resources')
    .select([
      'resource_id',
      'project_id',
      'name',
      'type',
      'sku',
      'settings_json',
      'deployment_state',
      'created_at',
    ])
    .where('project_id', 'in', projectsOfAccount(db, key))
    .orderBy('resource_id')
    .execute();
}

/** Takes the account's paid resources out of the operator's query (non-payment). */
export async function suspendPaidResources(
  db: Kysely<Database>,
  key: AccountKey,
  freeSkus: readonly string[],
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('ktrlplane.resources')
    .set({ deployment_state: 'suspended', status: 'Suspended', status_changed_at: now, updated_at: now })
    .where('deployment_state', '=', 'deployed')
    .where('sku', 'not in', [...freeSkus])
    .where('project_id', 'in', projectsOfAccount(db, key))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Brings suspended resources back into the operator's query (the account is paid up). */
export async function resumeSuspendedResources(
  db: Kysely<Database>,
  key: AccountKey,
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('ktrlplane.resources')
    .set((eb) => ({
      deployment_state: 'deployed',
      status: 'Deploying',
      status_changed_at: now,
      updated_at: now,
      generation: eb('generation', '+', 1),
    }))
    .where('deployment_state', '=', 'suspended')
    .where('project_id', 'in', projectsOfAccount(db, key))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The projects an account pays for: its own project, or its organization's others. */
function projectsOfAccount(db: Kysely<Database>, key: AccountKey) {
  if (key.scope_type === 'project') {
    return db.selectFrom('ktrlplane.projects').select('project_id').where('project_id', '=', key.scope_id);
  }
  return db
    .selectFrom('ktrlplane.projects as p')
    .select('p.project_id')
    .where('p.org_id', '=', key.scope_id)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('ktrlplane.billing_accounts as b')
            .select('b.scope_id')
            .where('b.scope_type', '=', 'project')
            .whereRef('b.scope_id', '=', 'p.project_id')
            .where('b.stripe_customer_id', 'is not', null)
            .where('b.mirrors_organization', '=', false),
        ),
      ),
    );
}

/**
 * The account that pays for a project: the project's own when it has a Stripe customer,
 * otherwise its organization's.
 */
export async function accountKeyForProject(
  db: Kysely<Database>,
  projectId: string,
  orgId: string,
): Promise<AccountKey> {
  const own = await db
    .selectFrom('ktrlplane.billing_accounts')
    .select('scope_id')
    .where('scope_type', '=', 'project')
    .where('scope_id', '=', projectId)
    .where('stripe_customer_id', 'is not', null)
    .where('mirrors_organization', '=', false)
    .executeTakeFirst();
  return own
    ? { scope_type: 'project', scope_id: projectId }
    : { scope_type: 'organization', scope_id: orgId };
}
