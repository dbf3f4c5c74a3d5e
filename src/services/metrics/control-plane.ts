import type { Kysely } from 'kysely';
import { apiUsageByMinute } from '../../db/api-usage-stats.repository.ts';
import { statusChangesInRange, statusTransitionsInRange } from '../../db/resource-history.repository.ts';
import type { Database } from '../../db/types.ts';
import type { ChartSeries } from '../../views/components/chart.tsx';
import { type StatusTone, toneOfStatus } from '../deployment-status.ts';
import type { AuthorizedScope } from '../rbac.ts';
import { API_LATENCY_BUCKETS_MS } from '../usage/api-calls.ts';
import { apiWindow, latencyPercentile, percentOf } from './api-traffic.ts';
import { replayStatuses } from './status-replay.ts';

/**
 * Control-plane metrics of an organization or project, from ktrlplane's own tables (no external
 * system): resource health over time (the status history replayed), deployments by status
 * (transitions per bucket), API usage, error rate and latency percentiles (api_usage_minutes).
 * The same series feed the monitoring pages' charts and their JSON.
 */
export const METRIC_RANGES = {
  '1h': { ms: 3_600_000, stepMs: 60_000 },
  '6h': { ms: 6 * 3_600_000, stepMs: 5 * 60_000 },
  '24h': { ms: 24 * 3_600_000, stepMs: 15 * 60_000 },
  '7d': { ms: 7 * 24 * 3_600_000, stepMs: 2 * 3_600_000 },
} as const;
export type MetricRange = keyof typeof METRIC_RANGES;

export function parseMetricRange(value: string | undefined): MetricRange {
  return value && value in METRIC_RANGES ? (value as MetricRange) : '24h';
}

/** Bucket ends of a range: `count` instants `stepMs` apart, the last at the current step's end. */
export function rangeInstants(
  range: MetricRange,
  now: Date,
): { from: Date; to: Date; stepMs: number; instants: Date[] } {
  const { ms, stepMs } = METRIC_RANGES[range];
  const to = Math.ceil(now.getTime() / stepMs) * stepMs;
  const count = ms / stepMs;
  const instants = Array.from({ length: count }, (_, index) => new Date(to - (count - 1 - index) * stepMs));
  return { from: new Date(to - ms), to: new Date(to), stepMs, instants };
}

export interface ControlPlaneMetrics {
  range: MetricRange;
  from: Date;
  to: Date;
  step_seconds: number;
  resource_health: ChartSeries[];
  deployment_status: ChartSeries[];
  api_usage: ChartSeries[];
  error_rate: ChartSeries[];
  latency: ChartSeries[];
}

const TONE_NAMES: Array<[StatusTone, string]> = [
  ['healthy', 'Healthy'],
  ['working', 'In progress'],
  ['warning', 'Degraded or unknown'],
  ['failed', 'Failed'],
  ['idle', 'Undeployed'],
];

export async function controlPlaneMetrics(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'> | AuthorizedScope<'organization'>,
  range: MetricRange,
  now: Date,
): Promise<ControlPlaneMetrics> {
  const { from, to, stepMs, instants } = rangeInstants(range, now);
  const [changes, transitions, minutes] = await Promise.all([
    statusChangesInRange(db, scope, { from, to }),
    statusTransitionsInRange(db, scope, { from, to }),
    apiUsageByMinute(db, scope, { from, to }),
  ]);

  // Resource health: how many resources were in each tone at each bucket end.
  const health = new Map<StatusTone, number[]>(TONE_NAMES.map(([tone]) => [tone, []]));
  replayStatuses(changes, instants, (statuses) => {
    const counts = new Map<StatusTone, number>();
    for (const { status } of statuses.values()) {
      const tone = toneOfStatus(status);
      counts.set(tone, (counts.get(tone) ?? 0) + 1);
    }
    for (const [tone] of TONE_NAMES) health.get(tone)?.push(counts.get(tone) ?? 0);
  });
  // Health is a state at each instant; counts belong to the bucket that starts a step earlier.
  const toSeries = (
    name: string,
    unit: string,
    values: Array<number | null>,
    atBucketStart = true,
  ): ChartSeries => ({
    name,
    unit,
    points: values.map((v, index) => ({
      t: new Date((instants[index] as Date).getTime() - (atBucketStart ? stepMs : 0)),
      v,
    })),
  });
  const resourceHealth = TONE_NAMES.map(([tone, name]) =>
    toSeries(name, 'resources', health.get(tone) ?? [], false),
  )
    // A tone no resource had in the range only adds a flat zero line.
    .filter((series) => series.points.some((point) => (point.v ?? 0) > 0));

  // Deployments by status: transitions into each tone within each bucket (bucket ends at the instant).
  const byTone = new Map<StatusTone, number[]>(TONE_NAMES.map(([tone]) => [tone, instants.map(() => 0)]));
  for (const transition of transitions) {
    if (transition.status === 'Deleted') continue;
    const index = Math.ceil((transition.at.getTime() - from.getTime()) / stepMs) - 1;
    const bucket = byTone.get(toneOfStatus(transition.status));
    if (bucket && index >= 0 && index < bucket.length) bucket[index] = (bucket[index] ?? 0) + 1;
  }
  const deploymentStatus = TONE_NAMES.map(([tone, name]) =>
    toSeries(name, 'transitions', byTone.get(tone) ?? []),
  ).filter((series) => series.points.some((point) => (point.v ?? 0) > 0));

  // API traffic per bucket: minutes (end - step, end].
  const windows = instants.map((instant) => apiWindow(minutes, instant, stepMs));
  const apiUsage = [
    toSeries(
      'Requests',
      'requests',
      windows.map((w) => w.requests),
    ),
    toSeries(
      'Client errors (4xx)',
      'requests',
      windows.map((w) => w.client_errors),
    ),
    toSeries(
      'Server errors (5xx)',
      'requests',
      windows.map((w) => w.server_errors),
    ),
  ];
  const errorRate = [
    toSeries(
      '5xx',
      '%',
      windows.map((w) => percentOf(w.server_errors, w.requests)),
    ),
    toSeries(
      '4xx',
      '%',
      windows.map((w) => percentOf(w.client_errors, w.requests)),
    ),
  ];
  const latency = ([0.5, 0.95, 0.99] as const).map((q) =>
    toSeries(
      `p${Math.round(q * 100)}`,
      'ms',
      windows.map((w) => latencyPercentile(w.duration_buckets, API_LATENCY_BUCKETS_MS, q)),
    ),
  );
  return {
    range,
    from,
    to,
    step_seconds: stepMs / 1000,
    resource_health: resourceHealth,
    deployment_status: deploymentStatus,
    api_usage: apiUsage,
    error_rate: errorRate,
    latency,
  };
}
