import { type Kysely, sql, type Transaction } from 'kysely';
import { usageMetrics } from '../schemas/usage-metrics.ts';
import type { RuntimeChange, RuntimeUsage } from '../services/usage/runtime.ts';
import type { Database } from './types.ts';

/**
 * The rollup's SQL (src/services/usage/rollup.ts). Functions that change aggregates take a
 * Transaction: the rollup job's, which holds its advisory lock, so two rollups never interleave.
 * Aggregates are keyed by billing account: a project's own account when it has a Stripe customer,
 * otherwise its organization's (the same rule as billing.repository's accountKeyForProject).
 */

export interface RollupState {
  watermark: Date | null;
  last_change_id: number;
}

export async function lockRollupState(
  trx: Transaction<Database>,
  name: string,
  now: Date,
): Promise<RollupState> {
  await trx
    .insertInto('ktrlplane.usage_rollup_state')
    .values({ name, watermark: null, last_change_id: 0, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  return trx
    .selectFrom('ktrlplane.usage_rollup_state')
    .select(['watermark', 'last_change_id'])
    .where('name', '=', name)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function saveRollupState(
  trx: Transaction<Database>,
  name: string,
  state: RollupState,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('ktrlplane.usage_rollup_state')
    .set({ watermark: state.watermark, last_change_id: state.last_change_id, updated_at: now })
    .where('name', '=', name)
    .execute();
}

export async function rollupWatermark(db: Kysely<Database>, name = 'runtime'): Promise<Date | null> {
  const row = await db
    .selectFrom('ktrlplane.usage_rollup_state')
    .select('watermark')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.watermark ?? null;
}

/**
 * Resources whose history changed since `afterId` (ids are handed out in commit order, see
 * migration 0009), with the earliest time each change concerns, and the newest id seen.
 */
export async function changedResourcesSince(
  db: Kysely<Database>,
  afterId: number,
): Promise<{ resources: Array<{ resource_id: string; earliest: Date }>; lastId: number }> {
  const rows = await db
    .selectFrom('ktrlplane.resource_usage_changes')
    .select((eb) => ['resource_id', eb.fn.min('at').as('earliest'), eb.fn.max('change_id').as('last_id')])
    .where('change_id', '>', afterId)
    .groupBy('resource_id')
    .execute();
  let lastId = afterId;
  for (const row of rows) lastId = Math.max(lastId, Number(row.last_id));
  return {
    resources: rows.map((row) => ({ resource_id: row.resource_id, earliest: new Date(row.earliest) })),
    lastId,
  };
}

export async function firstChangeAt(db: Kysely<Database>): Promise<Date | null> {
  const row = await db
    .selectFrom('ktrlplane.resource_usage_changes')
    .select((eb) => eb.fn.min('at').as('first'))
    .executeTakeFirst();
  return row?.first ? new Date(row.first) : null;
}

/**
 * Resources that used something in [from, to): deployed at `from` or changed within the window.
 */
export async function resourcesActiveBetween(db: Kysely<Database>, from: Date, to: Date): Promise<string[]> {
  // Runs every minute over a history that only grows, so neither half reads all of it: the first
  // walks the distinct resources through the (resource_id, at, change_id) index one probe each (a
  // loose index scan; Postgres has no skip scan) and reads each one's latest change before `from`;
  // the second reads the window through the index on `at`.
  const result = await sql<{ resource_id: string }>`
    WITH RECURSIVE ids AS (
      (SELECT resource_id FROM ktrlplane.resource_usage_changes ORDER BY resource_id LIMIT 1)
      UNION ALL
      SELECT (SELECT c.resource_id FROM ktrlplane.resource_usage_changes c
               WHERE c.resource_id > ids.resource_id ORDER BY c.resource_id LIMIT 1)
        FROM ids WHERE ids.resource_id IS NOT NULL
    )
    SELECT ids.resource_id FROM ids
      CROSS JOIN LATERAL (
        SELECT c.deployment_state FROM ktrlplane.resource_usage_changes c
         WHERE c.resource_id = ids.resource_id AND c.at <= ${from}
         ORDER BY c.at DESC, c.change_id DESC LIMIT 1) latest
     WHERE ids.resource_id IS NOT NULL AND latest.deployment_state = 'deployed'
    UNION
    SELECT DISTINCT resource_id FROM ktrlplane.resource_usage_changes WHERE at > ${from} AND at < ${to}
  `.execute(db);
  return result.rows.map((row) => row.resource_id);
}

/** The history of `resourceIds` that matters for [from, to), per resource in order. */
export async function runtimeChanges(
  db: Kysely<Database>,
  resourceIds: readonly string[],
  from: Date,
  to: Date,
): Promise<Map<string, RuntimeChange[]>> {
  const byResource = new Map<string, RuntimeChange[]>();
  if (resourceIds.length === 0) return byResource;
  const result = await sql<RuntimeChange>`
    SELECT c.resource_id, c.type, c.sku, c.status, c.deployment_state, c.instances, c.storage_quantity, c.at
    FROM ktrlplane.resource_usage_changes c
    JOIN unnest(${[...resourceIds]}::text[]) AS ids(resource_id) ON ids.resource_id = c.resource_id
    WHERE c.at < ${to}
      AND c.at >= coalesce((SELECT max(b.at) FROM ktrlplane.resource_usage_changes b
                            WHERE b.resource_id = c.resource_id AND b.at <= ${from}), '-infinity'::timestamptz)
    ORDER BY c.resource_id, c.at, c.change_id
  `.execute(db);
  for (const row of result.rows) {
    const list = byResource.get(row.resource_id) ?? [];
    list.push({ ...row, at: new Date(row.at) });
    byResource.set(row.resource_id, list);
  }
  return byResource;
}

const ACCOUNT_OF_PROJECT = sql`
  SELECT p.project_id, p.org_id,
    CASE WHEN ba.scope_id IS NULL THEN 'organization' ELSE 'project' END AS scope_type,
    coalesce(ba.scope_id, p.org_id) AS scope_id
  FROM ktrlplane.projects p
  LEFT JOIN ktrlplane.billing_accounts ba
    ON ba.scope_type = 'project' AND ba.scope_id = p.project_id AND ba.stripe_customer_id IS NOT NULL
      AND NOT ba.mirrors_organization`;

const RUNTIME_METRICS = ['instance_hours', 'storage_gb_hours'];

/**
 * Replaces the runtime aggregates (instance_hours, storage_gb_hours) of `resourceIds` for the
 * periods of [from, to) with `usage` (metric-milliseconds per period): rows in range are zeroed
 * first, so a period that lost its usage reads 0, then the new quantities are upserted. Hours and
 * minutes alike (`table`). Quantities are exact decimals: milliseconds ÷ 3,600,000.
 */
export async function replaceRuntimeAggregates(
  trx: Transaction<Database>,
  table: 'usage_hourly' | 'usage_minutely',
  resourceIds: readonly string[],
  from: Date,
  to: Date,
  usage: readonly RuntimeUsage[],
  now: Date,
): Promise<void> {
  if (resourceIds.length === 0) return;
  const period = table === 'usage_hourly' ? sql.ref('hour') : sql.ref('minute');
  const ids = [...resourceIds];
  if (table === 'usage_hourly') {
    await sql`
      UPDATE ktrlplane.usage_hourly SET quantity = 0, updated_at = ${now}
      WHERE resource_id = ANY(${ids}::text[]) AND metric = ANY(${RUNTIME_METRICS}::text[])
        AND hour >= ${from} AND hour < ${to} AND quantity <> 0
    `.execute(trx);
  } else {
    await sql`
      DELETE FROM ktrlplane.usage_minutely
      WHERE resource_id = ANY(${ids}::text[]) AND metric = ANY(${RUNTIME_METRICS}::text[])
        AND minute >= ${from} AND minute < ${to}
    `.execute(trx);
  }
  const rows = usage.flatMap((entry) => [
    ...(entry.instance_ms > 0 ? [{ ...entry, metric: 'instance_hours', ms: entry.instance_ms }] : []),
    ...(entry.gib_ms > 0 ? [{ ...entry, metric: 'storage_gb_hours', ms: entry.gib_ms }] : []),
  ]);
  if (rows.length === 0) return;
  const extra = table === 'usage_hourly' ? sql`, updated_at` : sql``;
  const extraValue = table === 'usage_hourly' ? sql`, ${now}::timestamptz` : sql``;
  const onConflict =
    table === 'usage_hourly'
      ? sql`DO UPDATE SET quantity = excluded.quantity, resource_type = excluded.resource_type,
            sku = excluded.sku, updated_at = excluded.updated_at`
      : sql`DO UPDATE SET quantity = excluded.quantity, resource_type = excluded.resource_type, sku = excluded.sku`;
  await sql`
    INSERT INTO ${sql.table(`ktrlplane.${table}`)}
      (scope_type, scope_id, metric, resource_id, ${period}, org_id, project_id, resource_type, sku, quantity${extra})
    SELECT a.scope_type, a.scope_id, v.metric, v.resource_id, v.period, a.org_id, a.project_id, v.type, v.sku,
      round(v.ms / 3600000, 12)${extraValue}
    FROM unnest(${rows.map((row) => row.resource_id)}::text[], ${rows.map((row) => row.metric)}::text[],
      ${rows.map((row) => new Date(row.period).toISOString())}::timestamptz[], ${rows.map((row) => row.type)}::text[],
      ${rows.map((row) => row.sku)}::text[], ${rows.map((row) => String(row.ms))}::numeric[])
      AS v(resource_id, metric, period, type, sku, ms)
    JOIN LATERAL (SELECT c.project_id FROM ktrlplane.resource_usage_changes c
                  WHERE c.resource_id = v.resource_id ORDER BY c.change_id DESC LIMIT 1) place ON true
    JOIN (${ACCOUNT_OF_PROJECT}) a ON a.project_id = place.project_id
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope_type, scope_id, metric, resource_id, ${period}) ${onConflict}
  `.execute(trx);
}

export interface DirtyHour {
  org_id: string;
  project_id: string;
  resource_id: string;
  metric: string;
  hour: Date;
}

/** Takes up to `limit` queued hours (removed in this transaction: a rollback puts them back). */
export async function takeDirtyHours(trx: Transaction<Database>, limit: number): Promise<DirtyHour[]> {
  const result = await sql<DirtyHour>`
    DELETE FROM ktrlplane.usage_dirty_hours
    WHERE (org_id, project_id, resource_id, metric, hour) IN (
      SELECT org_id, project_id, resource_id, metric, hour FROM ktrlplane.usage_dirty_hours
      ORDER BY hour LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    RETURNING org_id, project_id, resource_id, metric, hour
  `.execute(trx);
  return result.rows.map((row) => ({ ...row, hour: new Date(row.hour) }));
}

const metricsBy = (aggregation: string) =>
  usageMetrics.filter((metric) => metric.aggregation === aggregation).map((metric) => metric.name);
const UNIQUE_METRICS = usageMetrics.filter((metric) => metric.aggregation === 'unique_count');

/**
 * Per aggregation: the value of a minute from its events (`e`), and of an hour from its minutes
 * (`m`) — every aggregation but unique_count rolls minutes up into hours, so the events are read
 * once. A unique count is not additive: its hours are counted from the events themselves.
 */
const ROLLUPS = [
  { metrics: metricsBy('sum'), minute: sql`sum(e.value)`, hour: sql`sum(m.quantity)` },
  { metrics: metricsBy('count'), minute: sql`count(*)::numeric`, hour: sql`sum(m.quantity)` },
  { metrics: metricsBy('max'), minute: sql`max(e.value)`, hour: sql`max(m.quantity)` },
  {
    metrics: metricsBy('last'),
    minute: sql`(array_agg(e.value ORDER BY e.occurred_at DESC, e.event_id DESC))[1]`,
    hour: sql`(array_agg(m.quantity ORDER BY m.minute DESC))[1]`,
  },
];

function keysWithPlaces(keys: readonly DirtyHour[]) {
  // The account, type and SKU of each key, looked up once per key (not per minute).
  return sql`keys AS (
      SELECT k.*, a.scope_type, a.scope_id, place.type, place.sku
      FROM unnest(${keys.map((k) => k.org_id)}::text[], ${keys.map((k) => k.project_id)}::text[],
        ${keys.map((k) => k.resource_id)}::text[], ${keys.map((k) => k.metric)}::text[],
        ${keys.map((k) => k.hour.toISOString())}::timestamptz[]) AS k(org_id, project_id, resource_id, metric, hour)
      JOIN (${ACCOUNT_OF_PROJECT}) a ON a.project_id = k.project_id
      LEFT JOIN LATERAL (SELECT c.type, c.sku FROM ktrlplane.resource_usage_changes c
                         WHERE c.resource_id = k.resource_id ORDER BY c.change_id DESC LIMIT 1) place ON true
    )`;
}

const EVENTS_OF_KEY = sql`ktrlplane.usage_events e ON e.resource_id = k.resource_id AND e.metric = k.metric
  AND e.org_id = k.org_id AND e.occurred_at >= k.hour AND e.occurred_at < k.hour + interval '1 hour'`;

/**
 * Recomputes the aggregates of reported events for the queued (resource, metric, hour) keys from
 * ktrlplane.usage_events, by each metric's aggregation: hourly rows are zeroed then upserted,
 * minute rows of those hours deleted and rewritten (from `minutesFrom` on). One statement per
 * aggregation reads the events once: minutes from events, hours from minutes.
 */
export async function recomputeEventAggregates(
  trx: Transaction<Database>,
  keys: readonly DirtyHour[],
  minutesFrom: Date,
  now: Date,
): Promise<void> {
  if (keys.length === 0) return;
  const keyArrays = sql`unnest(${keys.map((k) => k.org_id)}::text[], ${keys.map((k) => k.project_id)}::text[],
      ${keys.map((k) => k.resource_id)}::text[], ${keys.map((k) => k.metric)}::text[],
      ${keys.map((k) => k.hour.toISOString())}::timestamptz[]) AS k(org_id, project_id, resource_id, metric, hour)`;
  await sql`
    UPDATE ktrlplane.usage_hourly h SET quantity = 0, updated_at = ${now}
    FROM ${keyArrays}
    WHERE h.project_id = k.project_id AND h.resource_id = k.resource_id AND h.metric = k.metric
      AND h.hour = k.hour AND h.quantity <> 0
  `.execute(trx);
  await sql`
    DELETE FROM ktrlplane.usage_minutely m USING ${keyArrays}
    WHERE m.project_id = k.project_id AND m.resource_id = k.resource_id AND m.metric = k.metric
      AND m.minute >= k.hour AND m.minute < k.hour + interval '1 hour'
  `.execute(trx);

  for (const rollup of ROLLUPS) {
    const group = keys.filter((key) => rollup.metrics.includes(key.metric));
    if (group.length === 0) continue;
    await sql`
      WITH ${keysWithPlaces(group)}, minutes AS (
        SELECT k.scope_type, k.scope_id, k.metric, k.resource_id, k.hour, k.org_id, k.project_id, k.type, k.sku,
          date_trunc('minute', e.occurred_at) AS minute, ${rollup.minute} AS quantity
        FROM keys k JOIN ${EVENTS_OF_KEY}
        GROUP BY k.scope_type, k.scope_id, k.metric, k.resource_id, k.hour, k.org_id, k.project_id, k.type, k.sku,
          date_trunc('minute', e.occurred_at)
      ), minute_rows AS (
        INSERT INTO ktrlplane.usage_minutely
          (scope_type, scope_id, metric, resource_id, minute, org_id, project_id, resource_type, sku, quantity)
        SELECT scope_type, scope_id, metric, resource_id, minute, org_id, project_id, type, sku, quantity
        FROM minutes WHERE minute >= ${minutesFrom}
        ON CONFLICT (scope_type, scope_id, metric, resource_id, minute) DO UPDATE SET quantity = excluded.quantity
      )
      INSERT INTO ktrlplane.usage_hourly
        (scope_type, scope_id, metric, resource_id, hour, org_id, project_id, resource_type, sku, quantity, updated_at)
      SELECT m.scope_type, m.scope_id, m.metric, m.resource_id, m.hour, m.org_id, m.project_id, m.type, m.sku,
        ${rollup.hour}, ${now}::timestamptz
      FROM minutes m
      GROUP BY m.scope_type, m.scope_id, m.metric, m.resource_id, m.hour, m.org_id, m.project_id, m.type, m.sku
      ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (scope_type, scope_id, metric, resource_id, hour) DO UPDATE SET
        quantity = excluded.quantity, resource_type = excluded.resource_type, sku = excluded.sku,
        updated_at = excluded.updated_at
    `.execute(trx);
  }

  const unique = keys.filter((key) => UNIQUE_METRICS.some((metric) => metric.name === key.metric));
  if (unique.length === 0) return;
  const attributes = sql`unnest(${UNIQUE_METRICS.map((m) => m.name)}::text[],
      ${UNIQUE_METRICS.map((m) => m.unique_attribute ?? '')}::text[]) AS u(metric, attribute)`;
  for (const [table, period, filter] of [
    ['usage_hourly', sql`k.hour`, sql``],
    ['usage_minutely', sql`date_trunc('minute', e.occurred_at)`, sql`WHERE e.occurred_at >= ${minutesFrom}`],
  ] as const) {
    const hourly = table === 'usage_hourly';
    await sql`
      WITH ${keysWithPlaces(unique)}
      INSERT INTO ${sql.table(`ktrlplane.${table}`)}
        (scope_type, scope_id, metric, resource_id, ${sql.ref(hourly ? 'hour' : 'minute')}, org_id, project_id,
         resource_type, sku, quantity${hourly ? sql`, updated_at` : sql``})
      SELECT k.scope_type, k.scope_id, k.metric, k.resource_id, ${period}, k.org_id, k.project_id, k.type, k.sku,
        count(DISTINCT e.attributes ->> u.attribute)::numeric${hourly ? sql`, ${now}::timestamptz` : sql``}
      FROM keys k JOIN ${EVENTS_OF_KEY} JOIN ${attributes} ON u.metric = e.metric
      ${filter}
      GROUP BY k.scope_type, k.scope_id, k.metric, k.resource_id, ${period}, k.org_id, k.project_id, k.type, k.sku
      ON CONFLICT (scope_type, scope_id, metric, resource_id, ${sql.ref(hourly ? 'hour' : 'minute')}) DO UPDATE SET
        quantity = excluded.quantity${hourly ? sql`, updated_at = excluded.updated_at` : sql``}
    `.execute(trx);
  }
}

/**
 * Recomputes API call aggregates for the queued (org, hour) pairs from ktrlplane.api_usage_minutes:
 * per billing account (calls of a project with its own account go to it; the rest to the org's),
 * as one row per account and period with resource_id ''.
 */
export async function recomputeApiCallAggregates(
  trx: Transaction<Database>,
  keys: ReadonlyArray<{ org_id: string; hour: Date }>,
  minutesFrom: Date,
  now: Date,
): Promise<void> {
  if (keys.length === 0) return;
  const keyArrays = sql`unnest(${keys.map((k) => k.org_id)}::text[], ${keys.map((k) => k.hour.toISOString())}::timestamptz[])
    AS k(org_id, hour)`;
  const accountOfCall = sql`
    CASE WHEN a.scope_id IS NULL THEN 'organization' ELSE a.scope_type END AS scope_type,
    coalesce(a.scope_id, m.org_id) AS scope_id`;
  await sql`
    UPDATE ktrlplane.usage_hourly h SET quantity = 0, updated_at = ${now}
    FROM ${keyArrays}
    WHERE h.org_id = k.org_id AND h.metric = 'api_calls' AND h.hour = k.hour AND h.quantity <> 0
  `.execute(trx);
  await sql`
    DELETE FROM ktrlplane.usage_minutely m USING ${keyArrays}
    WHERE m.org_id = k.org_id AND m.metric = 'api_calls' AND m.minute >= k.hour AND m.minute < k.hour + interval '1 hour'
  `.execute(trx);
  await sql`
    INSERT INTO ktrlplane.usage_hourly
      (scope_type, scope_id, metric, resource_id, hour, org_id, project_id, resource_type, sku, quantity, updated_at)
    SELECT scope_type, scope_id, 'api_calls', '', hour, org_id, '', NULL, NULL, sum(requests), ${now}::timestamptz
    FROM (
      SELECT ${accountOfCall}, k.hour, m.org_id, m.requests
      FROM ${keyArrays}
      JOIN ktrlplane.api_usage_minutes m ON m.org_id = k.org_id AND m.minute >= k.hour AND m.minute < k.hour + interval '1 hour'
      LEFT JOIN (${ACCOUNT_OF_PROJECT}) a ON a.project_id = m.project_id
    ) calls
    GROUP BY scope_type, scope_id, hour, org_id
    ORDER BY 1, 2, 5
    ON CONFLICT (scope_type, scope_id, metric, resource_id, hour) DO UPDATE SET
      quantity = excluded.quantity, updated_at = excluded.updated_at
  `.execute(trx);
  await sql`
    INSERT INTO ktrlplane.usage_minutely
      (scope_type, scope_id, metric, resource_id, minute, org_id, project_id, resource_type, sku, quantity)
    SELECT scope_type, scope_id, 'api_calls', '', minute, org_id, '', NULL, NULL, sum(requests)
    FROM (
      SELECT ${accountOfCall}, m.minute, m.org_id, m.requests
      FROM ${keyArrays}
      JOIN ktrlplane.api_usage_minutes m ON m.org_id = k.org_id AND m.minute >= k.hour AND m.minute < k.hour + interval '1 hour'
      LEFT JOIN (${ACCOUNT_OF_PROJECT}) a ON a.project_id = m.project_id
      WHERE m.minute >= ${minutesFrom}
    ) calls
    GROUP BY scope_type, scope_id, minute, org_id
    ON CONFLICT (scope_type, scope_id, metric, resource_id, minute) DO UPDATE SET quantity = excluded.quantity
  `.execute(trx);
}

/** Drops minute aggregates older than `before` (hours stay for good). */
export async function pruneMinuteAggregates(trx: Transaction<Database>, before: Date): Promise<number> {
  const result = await trx
    .deleteFrom('ktrlplane.usage_minutely')
    .where('minute', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
