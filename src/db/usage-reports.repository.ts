import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { AccountKey } from './billing.repository.ts';
import type { Database, UsageMeterReportsTable } from './types.ts';

export type MeterReport = Selectable<UsageMeterReportsTable>;

/**
 * The meter report outbox (src/services/usage/reporting.ts) and what the planner reads. Not
 * tenant-scoped: these run in jobs over every account; nothing here answers a user.
 */

export interface UnreportedHour {
  scope_type: 'organization' | 'project';
  scope_id: string;
  metric: string;
  resource_id: string;
  resource_type: string | null;
  hour: Date;
  /** The quantity as read (numeric text): marking compares it, so a change meanwhile stays due. */
  quantity: string;
}

/** Hourly aggregates not yet turned into meter events, for hours that closed before `closedBefore`. */
export async function unreportedHours(
  db: Kysely<Database>,
  closedBefore: Date,
  limit: number,
): Promise<UnreportedHour[]> {
  const rows = await sql<UnreportedHour>`
    SELECT scope_type, scope_id, metric, resource_id, resource_type, hour, quantity::text AS quantity
    FROM ktrlplane.usage_hourly
    WHERE reported_quantity IS DISTINCT FROM quantity AND hour < ${closedBefore}
    ORDER BY hour
    LIMIT ${limit}
  `.execute(db);
  return rows.rows.map((row) => ({ ...row, hour: new Date(row.hour) }));
}

export interface MeterSource {
  metric: string;
  /** '' = any resource type. */
  resource_type: string;
  meter: string;
  divisor: number;
}

export interface MeterHourTotal {
  scope_type: 'organization' | 'project';
  scope_id: string;
  meter: string;
  hour: Date;
  /** Hour total in the meter's unit, rounded to 6 decimals (numeric text). */
  total: string;
  /** What the outbox holds for the hour so far (pending, sent or failed). */
  reported: string;
  /** total − reported (numeric text). */
  difference: string;
  revision: number;
  stripe_customer_id: string | null;
  plan: string | null;
}

/**
 * Per (account, meter, hour): the hour's total from every hourly row that feeds the meter, what
 * the outbox already carries for it, and the difference — exact decimal arithmetic in SQL.
 */
export async function meterHourTotals(
  db: Kysely<Database>,
  keys: ReadonlyArray<{ scope_type: string; scope_id: string; meter: string; hour: Date }>,
  sources: readonly MeterSource[],
): Promise<MeterHourTotal[]> {
  if (keys.length === 0) return [];
  const result = await sql<MeterHourTotal>`
    WITH keys AS (
      SELECT * FROM unnest(${keys.map((k) => k.scope_type)}::text[], ${keys.map((k) => k.scope_id)}::text[],
        ${keys.map((k) => k.meter)}::text[], ${keys.map((k) => k.hour.toISOString())}::timestamptz[])
        AS k(scope_type, scope_id, meter, hour)
    ), sources AS (
      SELECT * FROM unnest(${sources.map((s) => s.metric)}::text[], ${sources.map((s) => s.resource_type)}::text[],
        ${sources.map((s) => s.meter)}::text[], ${sources.map((s) => String(s.divisor))}::numeric[])
        AS s(metric, resource_type, meter, divisor)
    ), totals AS (
      SELECT k.scope_type, k.scope_id, k.meter, k.hour,
        round(coalesce(sum(h.quantity / s.divisor), 0), 6) AS total
      FROM keys k
      JOIN sources s ON s.meter = k.meter
      LEFT JOIN ktrlplane.usage_hourly h ON h.scope_type = k.scope_type AND h.scope_id = k.scope_id
        AND h.hour = k.hour AND h.metric = s.metric AND (s.resource_type = '' OR h.resource_type = s.resource_type)
      GROUP BY k.scope_type, k.scope_id, k.meter, k.hour
    ), reported AS (
      SELECT r.scope_type, r.scope_id, r.meter, r.hour, sum(r.value) AS reported, max(r.revision) AS revision
      FROM ktrlplane.usage_meter_reports r
      JOIN keys k ON r.scope_type = k.scope_type AND r.scope_id = k.scope_id AND r.meter = k.meter AND r.hour = k.hour
      GROUP BY r.scope_type, r.scope_id, r.meter, r.hour
    )
    SELECT t.scope_type, t.scope_id, t.meter, t.hour, t.total::text AS total,
      coalesce(r.reported, 0)::text AS reported, (t.total - coalesce(r.reported, 0))::text AS difference,
      coalesce(r.revision, 0)::int AS revision, ba.stripe_customer_id, ba.plan
    FROM totals t
    LEFT JOIN reported r ON r.scope_type = t.scope_type AND r.scope_id = t.scope_id AND r.meter = t.meter AND r.hour = t.hour
    LEFT JOIN ktrlplane.billing_accounts ba ON ba.scope_type = t.scope_type AND ba.scope_id = t.scope_id
  `.execute(db);
  return result.rows.map((row) => ({ ...row, hour: new Date(row.hour) }));
}

export interface NewMeterReport {
  identifier: string;
  scope_type: 'organization' | 'project';
  scope_id: string;
  stripe_customer_id: string;
  meter: string;
  event_name: string;
  hour: Date;
  revision: number;
  value: string;
  total: string;
  event_timestamp: Date;
}

/** Queues meter events (pending, due now). A planned revision is unique per account, meter and hour. */
export async function insertMeterReports(
  trx: Transaction<Database>,
  reports: readonly NewMeterReport[],
  now: Date,
): Promise<void> {
  if (reports.length === 0) return;
  await trx
    .insertInto('ktrlplane.usage_meter_reports')
    .values(reports.map((report) => ({ ...report, next_attempt_at: now, created_at: now })))
    .execute();
}

/** Marks hourly rows reported at the quantity the planner read (a row changed since stays due). */
export async function markHoursReported(
  trx: Transaction<Database>,
  rows: readonly UnreportedHour[],
): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    UPDATE ktrlplane.usage_hourly h SET reported_quantity = v.quantity
    FROM unnest(${rows.map((r) => r.scope_type)}::text[], ${rows.map((r) => r.scope_id)}::text[],
      ${rows.map((r) => r.metric)}::text[], ${rows.map((r) => r.resource_id)}::text[],
      ${rows.map((r) => r.hour.toISOString())}::timestamptz[], ${rows.map((r) => r.quantity)}::numeric[])
      AS v(scope_type, scope_id, metric, resource_id, hour, quantity)
    WHERE h.scope_type = v.scope_type AND h.scope_id = v.scope_id AND h.metric = v.metric
      AND h.resource_id = v.resource_id AND h.hour = v.hour AND h.quantity = v.quantity
  `.execute(trx);
}

export async function tryPlannerLock(trx: Transaction<Database>): Promise<boolean> {
  const result = await sql<{ locked: boolean }>`
    SELECT pg_try_advisory_xact_lock(hashtext('ktrlplane.usage.plan-meter-reports')) AS locked`.execute(trx);
  return result.rows[0]?.locked === true;
}

/**
 * Leases up to `limit` due pending reports for `leaseMs`: a row leased by a run that died is due
 * again once its lease ran out; two overlapping runs never hold the same row. Oldest hours first.
 */
export async function leaseDueReports(
  db: Kysely<Database>,
  now: Date,
  leaseMs: number,
  limit: number,
): Promise<MeterReport[]> {
  const result = await sql<MeterReport>`
    UPDATE ktrlplane.usage_meter_reports r
    SET lease_until = ${new Date(now.getTime() + leaseMs)}, attempts = r.attempts + 1
    WHERE r.identifier IN (
      SELECT identifier FROM ktrlplane.usage_meter_reports
      WHERE status = 'pending' AND next_attempt_at <= ${now} AND (lease_until IS NULL OR lease_until <= ${now})
      ORDER BY hour, meter, revision
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED)
    RETURNING r.*
  `.execute(db);
  return result.rows
    .map((row) => ({ ...row, hour: new Date(row.hour), event_timestamp: new Date(row.event_timestamp) }))
    .sort((a, b) => a.hour.getTime() - b.hour.getTime() || a.revision - b.revision);
}

export async function markReportSent(db: Kysely<Database>, identifier: string, now: Date): Promise<void> {
  await db
    .updateTable('ktrlplane.usage_meter_reports')
    .set({ status: 'sent', sent_at: now, lease_until: null, last_error: null })
    .where('identifier', '=', identifier)
    .execute();
}

export async function markReportRetry(
  db: Kysely<Database>,
  identifier: string,
  nextAttemptAt: Date,
  error: string,
): Promise<void> {
  await db
    .updateTable('ktrlplane.usage_meter_reports')
    .set({ next_attempt_at: nextAttemptAt, lease_until: null, last_error: error })
    .where('identifier', '=', identifier)
    .execute();
}

export async function markReportFailed(
  db: Kysely<Database>,
  identifier: string,
  error: string,
): Promise<void> {
  await db
    .updateTable('ktrlplane.usage_meter_reports')
    .set({ status: 'failed', lease_until: null, last_error: error })
    .where('identifier', '=', identifier)
    .execute();
}

/** Sums of the outbox per meter and hour in [from, to) for one account, by status. */
export async function reportedPerHour(
  db: Kysely<Database>,
  account: AccountKey,
  from: Date,
  to: Date,
): Promise<Array<{ meter: string; hour: Date; sent: string; unsent: string }>> {
  const result = await sql<{ meter: string; hour: Date; sent: string; unsent: string }>`
    SELECT meter, hour,
      coalesce(sum(value) FILTER (WHERE status = 'sent'), 0)::text AS sent,
      coalesce(sum(value) FILTER (WHERE status <> 'sent'), 0)::text AS unsent
    FROM ktrlplane.usage_meter_reports
    WHERE scope_type = ${account.scope_type} AND scope_id = ${account.scope_id}
      AND hour >= ${from} AND hour < ${to}
    GROUP BY meter, hour
  `.execute(db);
  return result.rows.map((row) => ({ ...row, hour: new Date(row.hour) }));
}

/** Our total per meter over [from, to) for one account: each hour rounded as it is reported. */
export async function meterTotalsForPeriod(
  db: Kysely<Database>,
  account: AccountKey,
  from: Date,
  to: Date,
  sources: readonly MeterSource[],
): Promise<Map<string, string>> {
  const result = await sql<{ meter: string; total: string }>`
    WITH sources AS (
      SELECT * FROM unnest(${sources.map((s) => s.metric)}::text[], ${sources.map((s) => s.resource_type)}::text[],
        ${sources.map((s) => s.meter)}::text[], ${sources.map((s) => String(s.divisor))}::numeric[])
        AS s(metric, resource_type, meter, divisor)
    ), hours AS (
      SELECT s.meter, h.hour, round(sum(h.quantity / s.divisor), 6) AS total
      FROM ktrlplane.usage_hourly h
      JOIN sources s ON h.metric = s.metric AND (s.resource_type = '' OR h.resource_type = s.resource_type)
      WHERE h.scope_type = ${account.scope_type} AND h.scope_id = ${account.scope_id}
        AND h.hour >= ${from} AND h.hour < ${to}
      GROUP BY s.meter, h.hour
    )
    SELECT meter, sum(total)::text AS total FROM hours GROUP BY meter
  `.execute(db);
  return new Map(result.rows.map((row) => [row.meter, row.total]));
}

export interface ReconciliationRow {
  scope_type: 'organization' | 'project';
  scope_id: string;
  meter: string;
  period_start: Date;
  period_end: Date;
  ours: string;
  stripe: string;
  unsent: string;
  drift: string;
  checked_at: Date;
}

/** Stores a comparison; answers the drift stored before for the same period (null: first check). */
export async function saveReconciliation(
  db: Kysely<Database>,
  row: ReconciliationRow,
): Promise<string | null> {
  const previous = await db
    .selectFrom('ktrlplane.usage_reconciliations')
    .select(['drift', 'unsent'])
    .where('scope_type', '=', row.scope_type)
    .where('scope_id', '=', row.scope_id)
    .where('meter', '=', row.meter)
    .where('period_start', '=', row.period_start)
    .executeTakeFirst();
  await db
    .insertInto('ktrlplane.usage_reconciliations')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['scope_type', 'scope_id', 'meter', 'period_start']).doUpdateSet({
        period_end: row.period_end,
        ours: row.ours,
        stripe: row.stripe,
        unsent: row.unsent,
        drift: row.drift,
        checked_at: row.checked_at,
      }),
    )
    .execute();
  return previous ? String(Number(previous.drift) - Number(previous.unsent)) : null;
}

/** The latest `limit` comparisons of one account, newest period first. */
export async function reconciliationsOf(
  db: Kysely<Database>,
  account: AccountKey,
  limit: number,
): Promise<ReconciliationRow[]> {
  return db
    .selectFrom('ktrlplane.usage_reconciliations')
    .selectAll()
    .where('scope_type', '=', account.scope_type)
    .where('scope_id', '=', account.scope_id)
    .orderBy('period_start', 'desc')
    .orderBy('meter')
    .limit(limit)
    .execute();
}
