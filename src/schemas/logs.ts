import { z } from 'zod';
import { MAX_QUERY_LENGTH } from '../services/logs/query.ts';

/** Inputs of the logs routes (ingest tokens, search, saved searches). */

export const createIngestTokenInput = z.object({
  name: z
    .string({ error: 'enter a name that says which shipper uses the token' })
    .trim()
    .min(1, 'enter a name that says which shipper uses the token')
    .max(100, 'use at most 100 characters'),
});

/** Time ranges the picker offers; `custom` takes from/to. */
export const LOG_RANGES = ['15m', '1h', '24h', '7d', 'custom'] as const;
export type LogRange = (typeof LOG_RANGES)[number];
export const LOG_RANGE_MS: Record<Exclude<LogRange, 'custom'>, number> = {
  '15m': 15 * 60_000,
  '1h': 60 * 60_000,
  '24h': 24 * 60 * 60_000,
  '7d': 7 * 24 * 60 * 60_000,
};

const blank = (value: unknown) => (value === '' || value === null ? undefined : value);

/** A date-time from a query string: ISO 8601 with a zone, or a datetime-local value read as UTC. */
const instant = z.preprocess((value) => {
  const given = blank(value);
  if (typeof given !== 'string') return given;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(given) ? given : `${given}Z`;
  const date = new Date(withZone);
  return Number.isNaN(date.getTime()) ? given : date;
}, z.date({ error: 'send an ISO 8601 time, e.g. 2026-11-27T12:00:00Z' }).optional());

export const logSearchQuery = z
  .object({
    q: z.preprocess(blank, z.string().max(MAX_QUERY_LENGTH).default('')),
    range: z.preprocess(blank, z.enum(LOG_RANGES, { error: 'choose 15m, 1h, 24h, 7d or custom' }).optional()),
    from: instant,
    to: instant,
    limit: z.preprocess(
      blank,
      z.coerce
        .number({ error: 'send a number between 1 and 1000' })
        .int('send a whole number')
        .min(1, 'at least 1')
        .max(1000, 'at most 1000')
        .default(100),
    ),
    cursor: z.preprocess(blank, z.string().max(100).optional()),
    format: z.preprocess(blank, z.enum(['json', 'ndjson', 'csv']).optional()),
  })
  .superRefine((input, ctx) => {
    if (input.from && input.to && input.from.getTime() >= input.to.getTime())
      ctx.addIssue({ code: 'custom', path: ['to'], message: '"to" must be after "from"' });
  });
export type LogSearchQuery = z.output<typeof logSearchQuery>;

export const logContextQuery = z.object({
  line: z.string({ error: 'send the cursor of the line (its "cursor" field)' }).min(1).max(100),
  size: z.preprocess(blank, z.coerce.number().int().min(1).max(100).default(10)),
});

export const savedSearchInput = z.object({
  name: z
    .string({ error: 'enter a name for the search' })
    .trim()
    .min(1, 'enter a name for the search')
    .max(100, 'use at most 100 characters'),
  query: z.preprocess(
    (value) => (value === undefined || value === null ? '' : value),
    z.string().max(MAX_QUERY_LENGTH, `use at most ${MAX_QUERY_LENGTH} characters`),
  ),
  time_range: z.preprocess(blank, z.enum(['15m', '1h', '24h', '7d']).default('1h')),
  resource_id: z.preprocess(blank, z.string().max(63).optional()),
});
export type SavedSearchInput = z.output<typeof savedSearchInput>;
