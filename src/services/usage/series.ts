import { type Kysely, sql } from 'kysely';
import type { AccountKey } from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { usageMetrics } from '../../schemas/usage-metrics.ts';

export type UsageGranularity = 'hour' | 'day';

export interface UsageSeriesQuery {
  /** Inclusive; hours starting at or after it. */
  from: Date;
  /** Exclusive; hours starting before it. */
  to: Date;
  granularity: UsageGranularity;
  metric?: string | undefined;
}

export interface UsageSeriesRow {
  period_start: Date;
  metric: string;
  /** null for usage that belongs to no resource (API calls). */
  resource_id: string | null;
  resource_type: string | null;
  sku: string | null;
  quantity: number;
}

const metricsBy = (aggregation: string) =>
  usageMetrics.filter((metric) => metric.aggregation === aggregation).map((metric) => metric.name);
const MAX_METRICS = metricsBy('max');
const LAST_METRICS = metricsBy('last');

/**
 * Usage of one billing account per hour or per UTC day, per metric and resource, from the hourly
 * aggregates (ktrlplane.usage_hourly) — late data included once the rollup has recomputed the
 * hours it touched (the rollup runs every minute). A day adds its hours up for sum, count and
 * unique_count metrics (a unique count is per hour, as billed), takes the largest hour for max
 * metrics and the latest hour for last metrics. The resource type and SKU are those of the
 * period's latest hour. Rows come ordered by period, metric, resource.
 *
 * Tenancy: the caller has already checked that the principal may read this account's billing.
 */
export async function usageSeries(
  db: Kysely<Database>,
  account: AccountKey,
  query: UsageSeriesQuery,
): Promise<UsageSeriesRow[]> {
  const unit = query.granularity === 'day' ? 'day' : 'hour';
  const metricFilter = query.metric ? sql`AND metric = ${query.metric}` : sql``;
  const result = await sql<{
    period_start: Date;
    metric: string;
    resource_id: string;
    resource_type: string | null;
    sku: string | null;
    quantity: string;
  }>`
    SELECT period_start, metric, resource_id,
      (array_agg(resource_type ORDER BY hour DESC))[1] AS resource_type,
      (array_agg(sku ORDER BY hour DESC))[1] AS sku,
      CASE
        WHEN metric = ANY(${MAX_METRICS}::text[]) THEN max(quantity)
        WHEN metric = ANY(${LAST_METRICS}::text[]) THEN (array_agg(quantity ORDER BY hour DESC))[1]
        ELSE sum(quantity)
      END::text AS quantity
    FROM (
      SELECT date_trunc(${unit}, hour, 'UTC') AS period_start, hour, metric, resource_id, resource_type, sku, quantity
      FROM ktrlplane.usage_hourly
      WHERE scope_type = ${account.scope_type} AND scope_id = ${account.scope_id}
        AND hour >= ${query.from} AND hour < ${query.to} ${metricFilter}
    ) hours
    GROUP BY period_start, metric, resource_id
    ORDER BY period_start, metric, resource_id
  `.execute(db);
  return result.rows.map((row) => ({
    period_start: new Date(row.period_start),
    metric: row.metric,
    resource_id: row.resource_id === '' ? null : row.resource_id,
    resource_type: row.resource_type,
    sku: row.sku,
    quantity: Number(row.quantity),
  }));
}
