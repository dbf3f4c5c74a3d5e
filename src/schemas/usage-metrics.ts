import { z } from 'zod';
import { canonicalTypeId, METER_SUFFIX_BY_TYPE } from './resource-types/type-ids.ts';

/**
 * The usage metrics ktrlplane counts, declared here (a typed file validated when it loads, like
 * plans.ts): a bad declaration stops start-up. The cost engine, the dashboard, the rollup and the
 * event API all read this list.
 *
 * Built-in metrics are measured by ktrlplane itself and cannot be reported through the API:
 * - `instance_hours`: instances (or replicas) × time in a running status, per resource, exact to
 *   the second (from ktrlplane.resource_usage_changes);
 * - `storage_gb_hours`: configured storage size (GiB, as Kubernetes quantities count) × time the
 *   resource is deployed;
 * - `api_calls`: calls to /api/v1 per organization, counted by the API usage middleware.
 *
 * Adding a metric data planes report is adding an entry with `source: 'reported'`; it is then
 * accepted by POST /api/v1/usage/events, rolled up, shown, and — when a plan has a metered price
 * keyed by the metric's name — reported to Stripe. Aggregations (per minute and per hour; days and
 * months of `sum`/`count` metrics add hours up, `max` takes the largest, `last` the latest, and
 * `unique_count` counts distinct values within each hour, which is what a meter then sums):
 * - sum: the sum of the events' values;   count: the number of events;   max: the largest value;
 * - last: the value of the latest event (by time);
 * - unique_count: distinct values of the attribute named by `unique_attribute`.
 */
export const USAGE_AGGREGATIONS = ['sum', 'count', 'max', 'unique_count', 'last'] as const;
export type UsageAggregation = (typeof USAGE_AGGREGATIONS)[number];

const metricName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,62}$/, 'use lowercase letters, digits and underscores (2–63 characters)');

export const usageMetricSchema = z
  .strictObject({
    name: metricName,
    unit: z.string().min(1),
    aggregation: z.enum(USAGE_AGGREGATIONS),
    description: z.string().min(1),
    /** `builtin`: measured by ktrlplane; `reported`: sent by data planes through the event API. */
    source: z.enum(['builtin', 'reported']),
    /** For unique_count: the attribute whose distinct values are counted. */
    unique_attribute: z.string().min(1).optional(),
    /**
     * Stripe meter value = quantity ÷ this (e.g. API calls are priced per 1,000). Default 1.
     */
    meter_divisor: z.number().positive().default(1),
    /**
     * Whether the Stripe meter is per resource type (`<metric>_<type>`, e.g.
     * instance_hours_digital_twins) rather than one meter named like the metric.
     */
    meter_per_resource_type: z.boolean().default(false),
  })
  .refine((metric) => metric.aggregation !== 'unique_count' || metric.unique_attribute, {
    message: 'a unique_count metric names its unique_attribute',
    path: ['unique_attribute'],
  });

export type UsageMetric = z.infer<typeof usageMetricSchema>;

export const BUILTIN_METRICS = ['instance_hours', 'storage_gb_hours', 'api_calls'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];

export const usageMetrics: readonly UsageMetric[] = Object.freeze(
  z
    .array(usageMetricSchema)
    .superRefine((metrics, ctx) => {
      const seen = new Set<string>();
      for (const [index, metric] of metrics.entries()) {
        if (seen.has(metric.name))
          ctx.addIssue({ code: 'custom', message: `duplicate metric ${metric.name}`, path: [index, 'name'] });
        seen.add(metric.name);
      }
      for (const name of BUILTIN_METRICS) {
        if (!metrics.some((metric) => metric.name === name && metric.source === 'builtin'))
          ctx.addIssue({ code: 'custom', message: `the built-in metric ${name} is missing` });
      }
    })
    .parse([
      {
        name: 'instance_hours',
        unit: 'instance-hour',
        aggregation: 'sum',
        source: 'builtin',
        description: 'Instances (or replicas) × hours in a running status, per resource.',
        meter_per_resource_type: true,
      },
      {
        name: 'storage_gb_hours',
        unit: 'GB-hour',
        aggregation: 'sum',
        source: 'builtin',
        description: 'Configured storage (GiB) × hours deployed, per resource.',
      },
      {
        name: 'api_calls',
        unit: 'call',
        aggregation: 'count',
        source: 'builtin',
        description: 'Calls to the ktrlplane API (/api/v1), per organization.',
        meter_divisor: 1000,
      },
      {
        name: 'graph_queries',
        unit: 'query',
        aggregation: 'sum',
        source: 'reported',
        description: 'Queries a graph database served (reported by the data plane).',
      },
      {
        name: 'flow_runs',
        unit: 'run',
        aggregation: 'count',
        source: 'reported',
        description: 'Flow executions (one event per run; the value is ignored).',
      },
      {
        name: 'peak_connections',
        unit: 'connection',
        aggregation: 'max',
        source: 'reported',
        description: 'Most concurrent client connections.',
      },
      {
        name: 'active_users',
        unit: 'user',
        aggregation: 'unique_count',
        unique_attribute: 'user',
        source: 'reported',
        description: 'Distinct users (attribute `user`) who used the resource.',
      },
      {
        name: 'backup_size_gb',
        unit: 'GB',
        aggregation: 'last',
        source: 'reported',
        description: 'Size of the latest backup.',
      },
    ]),
);

const byName = new Map(usageMetrics.map((metric) => [metric.name, metric]));

export function usageMetric(name: string): UsageMetric | undefined {
  return byName.get(name);
}

/** Metrics data planes may report through POST /api/v1/usage/events. */
export const reportableMetricNames: readonly string[] = usageMetrics
  .filter((metric) => metric.source === 'reported')
  .map((metric) => metric.name);

/**
 * The suffix of per-type meters: `Konnektr.Flows` → `flows`. The graph database keeps
 * `digital_twins` from its old id (type-ids.ts says why); usage recorded under the old id maps
 * to the same meter.
 */
export function resourceTypeMeterSuffix(name: string): string {
  const type = canonicalTypeId(name);
  const fixed = METER_SUFFIX_BY_TYPE.get(type);
  if (fixed) return fixed;
  const base = type.includes('.') ? type.slice(type.lastIndexOf('.') + 1) : type;
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
}

/** The Stripe meter (key of a plan's `metered` prices) usage of `metric` goes to. */
export function meterFor(metric: UsageMetric, resourceType: string | null): string {
  return metric.meter_per_resource_type && resourceType
    ? `${metric.name}_${resourceTypeMeterSuffix(resourceType)}`
    : metric.name;
}

/** Statuses in which a deployed resource's instances run and count as instance-hours. */
export const RUNNING_STATUSES: ReadonlySet<string> = new Set([
  'Running',
  'Healthy',
  'Degraded',
  'Updating',
  'Progressing',
]);

const QUANTITY_GIB: Record<string, number> = {
  '': 1 / 1024 ** 3,
  Ki: 1 / 1024 ** 2,
  Mi: 1 / 1024,
  Gi: 1,
  Ti: 1024,
  Pi: 1024 ** 2,
  k: 1e3 / 1024 ** 3,
  M: 1e6 / 1024 ** 3,
  G: 1e9 / 1024 ** 3,
  T: 1e12 / 1024 ** 3,
  P: 1e15 / 1024 ** 3,
};

/** A Kubernetes storage quantity ('10Gi', '500Mi', '1T') in GiB; 0 when absent or unreadable. */
export function storageGib(quantity: string | null): number {
  if (!quantity) return 0;
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(quantity.trim());
  if (!match) return 0;
  return Number(match[1]) * (QUANTITY_GIB[match[2] ?? ''] ?? 0);
}
