import { z } from 'zod';

const eventId = z
  .string()
  .regex(/^\d{1,15}$/, 'must be an event id (a non-negative integer)')
  .transform(Number);

/**
 * Query of the SSE streams GET /projects/:projectId/events and
 * GET /projects/:projectId/resources/:resourceId/events.
 */
export const eventStreamQuery = z.object({
  /** Resume after this event id (Last-Event-ID, when sent, takes precedence). */
  after: eventId.optional(),
  /** `1`: send what is stored after the cursor, then end (no live part). */
  once: z.enum(['1', 'true'], { error: 'once must be 1 or true' }).optional(),
  /** `json` (default): event rows for API clients; `html`: fragments for htmx pages. */
  format: z.enum(['json', 'html'], { error: 'format must be json or html' }).default('json'),
  /** `1`: also send new log lines (`event: log`), filtered by `q` (the log query language). */
  logs: z.enum(['1', 'true'], { error: 'logs must be 1 or true' }).optional(),
  q: z.string().max(1_000, 'a query may be at most 1000 characters long').default(''),
  /** Resume the log lines after this log id (the `id` of the last `event: log` received). */
  log_after: eventId.optional(),
});

export const lastEventIdHeader = eventId;
