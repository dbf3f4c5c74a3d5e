import { z } from 'zod';
import { usageMetrics } from './usage-metrics.ts';

/** Longest span one usage query may cover, by granularity (keeps answers and CSVs bounded). */
export const MAX_USAGE_SPAN_DAYS = { hour: 31, day: 400 } as const;

const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: 'must be an ISO 8601 date (2026-11-01) or date-time (2026-11-01T00:00:00Z)',
  })
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value));

const metricNames = usageMetrics.map((metric) => metric.name);

/**
 * GET …/billing/usage: `from` (inclusive) and `to` (exclusive) default to the current billing
 * period; `granularity` hour or day (default day); `metric` one of the declared metrics (default all);
 * `format` csv or json (or the Accept header).
 */
export const usageQuerySchema = z.strictObject({
  from: instant.optional(),
  to: instant.optional(),
  granularity: z.enum(['hour', 'day'], { error: 'must be hour or day' }).default('day'),
  metric: z
    .string()
    .refine((name) => metricNames.includes(name), {
      error: `must be one of the metrics: ${metricNames.join(', ')}`,
    })
    .optional(),
  format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).optional(),
});

export type UsageQuery = z.output<typeof usageQuerySchema>;
