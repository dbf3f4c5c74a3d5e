import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import type { AlertRule } from '../../db/alerts.repository.ts';
import { apiUsageByMinute } from '../../db/api-usage-stats.repository.ts';
import { accountKeyForProject } from '../../db/billing.repository.ts';
import { statusChangesInRange, statusTransitionsInRange } from '../../db/resource-history.repository.ts';
import { listResourcesInProject } from '../../db/resources.repository.ts';
import type { Database } from '../../db/types.ts';
import { usageMetrics } from '../../schemas/usage-metrics.ts';
import { toneOfStatus } from '../deployment-status.ts';
import { countLogLines } from '../logs/query.ts';
import { apiWindow, latencyPercentile, percentOf } from '../metrics/api-traffic.ts';
import { queryRange } from '../metrics/prometheus.ts';
import { scopePromql } from '../metrics/promql-scope.ts';
import { replayStatuses } from '../metrics/status-replay.ts';
import type { AuthorizedScope } from '../rbac.ts';
import { API_LATENCY_BUCKETS_MS } from '../usage/api-calls.ts';
import { usageSeries } from '../usage/series.ts';

/**
 * The value an alert rule watches, at a list of instants: each value covers the rule's window
 * ending at that instant. The live evaluation asks for one instant (now); the rule form's preview
 * asks for every minute of the last 24 hours, so both see the same numbers.
 */
export type RuleDefinition = Pick<AlertRule, 'kind' | 'params' | 'window_seconds'>;

export interface ValueContext {
  db: Kysely<Database>;
  config: Config;
  scope: AuthorizedScope<'project'>;
  now: Date;
}

export const FAILED_TRANSITION_STATUSES = new Set(['Error', 'Failed', 'Degraded']);

/** Resources whose status is not healthy (a warning or failure tone) at each instant. */
export async function unhealthyResourceCounts(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'> | AuthorizedScope<'organization'>,
  times: Date[],
): Promise<number[]> {
  if (times.length === 0) return [];
  const changes = await statusChangesInRange(db, scope, { from: times[0] as Date, to: times.at(-1) as Date });
  const counts: number[] = [];
  replayStatuses(changes, times, (statuses) => {
    let unhealthy = 0;
    for (const { status } of statuses.values()) {
      const tone = toneOfStatus(status);
      if (tone === 'warning' || tone === 'failed') unhealthy++;
    }
    counts.push(unhealthy);
  });
  return counts;
}

/** Sums per-instant windows over timestamped counts. */
function windowSums(events: Array<{ at: Date; count: number }>, times: Date[], windowMs: number): number[] {
  return times.map((t) => {
    const end = t.getTime();
    const start = end - windowMs;
    let sum = 0;
    for (const event of events) {
      const at = event.at.getTime();
      if (at > start && at <= end) sum += event.count;
    }
    return sum;
  });
}

export async function ruleValues(
  ctx: ValueContext,
  rule: RuleDefinition,
  times: Date[],
): Promise<Array<number | null>> {
  if (times.length === 0) return [];
  const windowMs = rule.window_seconds * 1000;
  const first = times[0] as Date;
  const last = times.at(-1) as Date;
  const params = rule.params as Record<string, string | undefined>;
  switch (rule.kind) {
    case 'status': {
      const target = params.status ?? 'Degraded';
      const changes = await statusChangesInRange(ctx.db, ctx.scope, {
        from: new Date(first.getTime() - windowMs),
        to: last,
        resourceId: params.resource_id,
      });
      const values: number[] = [];
      // "Degraded longer than the window": resources in the status since at least a window ago.
      replayStatuses(changes, times, (statuses, t) => {
        let count = 0;
        for (const { status, since } of statuses.values()) {
          if (status === target && t.getTime() - since.getTime() >= windowMs) count++;
        }
        values.push(count);
      });
      return values;
    }
    case 'promql': {
      const tenant: Record<string, string> = { project_id: ctx.scope.id };
      if (params.resource_id) tenant.resource_id = params.resource_id;
      const query = scopePromql(params.query ?? '', tenant);
      const stepSeconds =
        times.length > 1
          ? Math.max(1, Math.round((last.getTime() - first.getTime()) / (times.length - 1) / 1000))
          : // One instant (the live evaluation): a 1 s step keeps it at now, not a minute back.
            1;
      const series = await queryRange(ctx.config, query, { start: first, end: last, stepSeconds }, ctx.now);
      // The highest value across the result's series: "any series above the threshold".
      return times.map((_, index) => {
        let max: number | null = null;
        for (const s of series) {
          const v = s.points[index]?.v ?? null;
          if (v !== null && (max === null || v > max)) max = v;
        }
        return max;
      });
    }
    case 'metric': {
      switch (params.metric) {
        case 'resources_unhealthy':
          return unhealthyResourceCounts(ctx.db, ctx.scope, times);
        case 'deployments_failed': {
          const transitions = await statusTransitionsInRange(ctx.db, ctx.scope, {
            from: new Date(first.getTime() - windowMs),
            to: last,
          });
          const failed = transitions
            .filter((transition) => FAILED_TRANSITION_STATUSES.has(transition.status))
            .map((transition) => ({ at: transition.at, count: 1 }));
          return windowSums(failed, times, windowMs);
        }
        default:
          return apiMetricValues(ctx, String(params.metric), times, windowMs);
      }
    }
    case 'log':
      return logCountValues(ctx, params, times, windowMs);
    case 'usage':
      return usageValues(ctx, params, times, windowMs);
  }
}

async function apiMetricValues(
  ctx: ValueContext,
  metric: string,
  times: Date[],
  windowMs: number,
): Promise<Array<number | null>> {
  const first = times[0] as Date;
  const minutes = await apiUsageByMinute(ctx.db, ctx.scope, {
    from: new Date(first.getTime() - windowMs),
    to: times.at(-1) as Date,
  });
  return times.map((t) => {
    const window = apiWindow(minutes, t, windowMs);
    switch (metric) {
      case 'api_requests':
        return window.requests;
      case 'api_error_rate':
        return percentOf(window.server_errors, window.requests);
      case 'api_client_error_rate':
        return percentOf(window.client_errors, window.requests);
      case 'api_latency_p95':
        return latencyPercentile(window.duration_buckets, API_LATENCY_BUCKETS_MS, 0.95);
      default:
        return null;
    }
  });
}

/** Log lines matching the rule's query per minute, summed over the window ending at each instant. */
async function logCountValues(
  ctx: ValueContext,
  params: Record<string, string | undefined>,
  times: Date[],
  windowMs: number,
): Promise<Array<number | null>> {
  const first = times[0] as Date;
  const last = times.at(-1) as Date;
  // One count per minute from the window's start before the first instant to the last instant.
  const counts = await countLogLines(ctx.db, ctx.scope, {
    ...(params.resource_id ? { resourceId: params.resource_id } : {}),
    q: params.query ?? '',
    from: new Date(first.getTime() - windowMs),
    to: new Date(last.getTime() + 1),
    bucket: 60,
  });
  // A bucket [start, start + 60 s) counts toward an instant whose window (t - window, t] holds it.
  const events = counts.buckets.map((bucket) => ({
    at: new Date(bucket.start.getTime() + 59_999),
    count: bucket.count,
  }));
  return windowSums(events, times, windowMs);
}

/**
 * Usage of the rule's metric by the project over the window (hourly aggregates, so the window is
 * rounded out to whole hours): the project's resources' usage, and usage without a resource too
 * when the project pays for itself.
 */
async function usageValues(
  ctx: ValueContext,
  params: Record<string, string | undefined>,
  times: Date[],
  windowMs: number,
): Promise<Array<number | null>> {
  const hourMs = 3_600_000;
  const first = times[0] as Date;
  const last = times.at(-1) as Date;
  const account = await accountKeyForProject(ctx.db, ctx.scope.id, ctx.scope.orgId);
  const resources = new Set(
    (await listResourcesInProject(ctx.db, ctx.scope)).map((resource) => resource.resource_id),
  );
  const rows = await usageSeries(ctx.db, account, {
    from: new Date(Math.floor((first.getTime() - windowMs) / hourMs) * hourMs),
    to: new Date(Math.floor(last.getTime() / hourMs) * hourMs + hourMs),
    granularity: 'hour',
    metric: params.metric,
  });
  const mine = rows.filter((row) =>
    row.resource_id === null ? account.scope_type === 'project' : resources.has(row.resource_id),
  );
  // An hour counts toward an instant once it has started inside the window (hourly data).
  const events = mine.map((row) => ({ at: new Date(row.period_start.getTime() + 1), count: row.quantity }));
  return windowSums(events, times, Math.ceil(windowMs / hourMs) * hourMs);
}

/** Usage metrics a rule of kind `usage` can watch. */
export function usageMetricChoices(): Array<{ name: string; description: string }> {
  return usageMetrics.map((metric) => ({
    name: metric.name,
    description: `${metric.description} (${metric.unit})`,
  }));
}
