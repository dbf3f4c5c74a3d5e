import { z } from 'zod';

/**
 * POST /api/v1/usage/events: a batch of up to 1,000 events a data plane reports.
 * `id` is the reporter's own id of the event (unique per organization, e.g. a UUID or
 * "<resource>-<sequence>"): sending the same event again is safe. `time` is RFC 3339 with an
 * offset; `value` is a finite number ≥ 0 (ignored by count metrics); `attributes` are up to 16
 * flat values (unique_count metrics count distinct values of one of them).
 */
export const MAX_USAGE_EVENTS_PER_BATCH = 1000;

export const usageEventInput = z.strictObject({
  id: z.string().min(1, 'give the event an id').max(200, 'use at most 200 characters'),
  metric: z.string().min(1, 'name the metric').max(63),
  resourceId: z.string().min(1, 'name the resource').max(63),
  time: z.iso.datetime({ offset: true, message: 'use an RFC 3339 time such as 2026-11-27T10:00:00Z' }),
  value: z.number().finite().nonnegative('use a value of 0 or more'),
  attributes: z
    .record(z.string().min(1).max(100), z.union([z.string().max(500), z.number().finite(), z.boolean()]))
    .refine((value) => Object.keys(value).length <= 16, 'use at most 16 attributes')
    .optional(),
});

export const usageEventBatchInput = z.strictObject({
  events: z
    .array(usageEventInput)
    .min(1, 'send at least one event')
    .max(MAX_USAGE_EVENTS_PER_BATCH, `send at most ${MAX_USAGE_EVENTS_PER_BATCH} events per batch`),
});

export type UsageEventInput = z.infer<typeof usageEventInput>;

export type UsageEventOutcome = 'accepted' | 'duplicate' | 'conflict' | 'not_found' | 'forbidden';

export interface UsageEventResult {
  index: number;
  id: string;
  /** 201 accepted, 200 duplicate (already accepted), 409 conflict, 404 / 403 for the resource. */
  status: 201 | 200 | 409 | 404 | 403;
  outcome: UsageEventOutcome;
  detail?: string;
}
