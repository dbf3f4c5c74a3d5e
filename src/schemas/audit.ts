import { z } from 'zod';
import type { AuditCursor } from '../db/audit.repository.ts';
import { base64url, fromBase64url } from '../lib/crypto.ts';

/**
 * Query parameters of GET /organizations/:orgId/audit. The same names drive the filter form, the
 * pushed URL, the "Load more" link, the CSV export and the JSON API, so any of them can be shared.
 */

export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 200;

/** A point in time as typed, and the range it covers at its own precision (a day, a minute, …). */
export interface Instant {
  start: Date;
  /** Exclusive end: "to 2026-11-27T12:30" includes everything during 12:30. */
  end: Date;
}

const INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads an ISO 8601 date or date-time, or a datetime-local value (no zone). A value without a zone
 * is UTC, as the page says beside the inputs; the audit log shows every time in UTC.
 */
export function parseInstant(text: string): Instant | null {
  const match = INSTANT.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const millis = Number((fraction ?? '').padEnd(3, '0').slice(0, 3));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  // Date.UTC rolls 2026-02-30 over to March; a date that does not exist is refused instead.
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return null;
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = Number(digits.slice(2));
    if (zoneHours > 23 || zoneMinutes > 59) return null;
    offsetMinutes = sign * (zoneHours * 60 + zoneMinutes);
  }
  const precision =
    h === undefined ? 86_400_000 : s === undefined ? 60_000 : fraction === undefined ? 1000 : 1;
  const start = local - offsetMinutes * 60_000;
  return { start: new Date(start), end: new Date(start + precision) };
}

/** The value a datetime-local input shows for an instant (UTC, to the minute or second). */
export function toDatetimeLocal(date: Date): string {
  const iso = date.toISOString();
  return date.getUTCSeconds() === 0 && date.getUTCMilliseconds() === 0 ? iso.slice(0, 16) : iso.slice(0, 19);
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The opaque cursor clients pass back: base64url of the JSON pair [occurred_at, event_id]. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return base64url(new TextEncoder().encode(JSON.stringify([cursor.occurredAt, cursor.eventId])));
}

export function decodeAuditCursor(text: string): AuditCursor | null {
  if (!/^[A-Za-z0-9_-]{1,1000}$/.test(text)) return null;
  try {
    const pair: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64url(text)));
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [occurredAt, eventId] = pair;
    if (typeof occurredAt !== 'string' || !CURSOR_TIME.test(occurredAt)) return null;
    if (Number.isNaN(Date.parse(occurredAt))) return null;
    if (typeof eventId !== 'string' || eventId.length === 0 || eventId.length > 200) return null;
    return { occurredAt, eventId };
  } catch {
    return null;
  }
}

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const filterText = (what: string) =>
  z.preprocess(
    blankToUndefined,
    z.string().trim().max(200, `use at most 200 characters for the ${what}`).optional(),
  );

const instant = z.preprocess(
  blankToUndefined,
  z
    .string()
    .transform((value, ctx) => {
      const parsed = parseInstant(value);
      if (!parsed) {
        ctx.addIssue({
          code: 'custom',
          message:
            'send a date such as 2026-11-27, or a time such as 2026-11-27T14:30 (UTC) or 2026-11-27T14:30:00+01:00',
        });
        return z.NEVER;
      }
      return parsed;
    })
    .optional(),
);

export const auditQuery = z
  .object({
    actor: filterText('actor'),
    action: filterText('action'),
    target: filterText('target'),
    from: instant,
    to: instant,
    limit: z.preprocess(
      blankToUndefined,
      z.coerce
        .number({ error: `send a whole number from 1 to ${AUDIT_PAGE_MAX}` })
        .int(`send a whole number from 1 to ${AUDIT_PAGE_MAX}`)
        .min(1, `send a whole number from 1 to ${AUDIT_PAGE_MAX}`)
        .max(AUDIT_PAGE_MAX, `at most ${AUDIT_PAGE_MAX} events come in one page; follow next_cursor for more`)
        .default(AUDIT_PAGE_DEFAULT),
    ),
    cursor: z.preprocess(
      blankToUndefined,
      z
        .string()
        .transform((value, ctx) => {
          const cursor = decodeAuditCursor(value);
          if (!cursor) {
            ctx.addIssue({
              code: 'custom',
              message: 'this cursor is not one we gave out; pass next_cursor from a previous page unchanged',
            });
            return z.NEVER;
          }
          return cursor;
        })
        .optional(),
    ),
    format: z.preprocess(
      blankToUndefined,
      z.enum(['json', 'csv'], { error: 'send format=csv for a CSV export, or leave it out' }).optional(),
    ),
  })
  .superRefine((value, ctx) => {
    if (value.from && value.to && value.to.end.getTime() <= value.from.start.getTime()) {
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'the end of the range must come after its start',
      });
    }
  });

export type AuditQuery = z.output<typeof auditQuery>;

/** The filter values as typed, for refilling the form and building links. */
export interface AuditFilterValues {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
}

export const AUDIT_FILTER_NAMES = ['actor', 'action', 'target', 'from', 'to'] as const;

/**
 * What a datetime-local input shows for a `from` or `to` parameter as typed. "to=2026-11-27" (the
 * whole day) shows as 23:59 of that day, since the input's minute is inclusive; a value that does
 * not parse is shown as typed, beside its error.
 */
export function instantInputValue(text: string | undefined, bound: 'from' | 'to'): string | undefined {
  if (!text) return text;
  const instant = parseInstant(text);
  if (!instant) return text;
  const precision = instant.end.getTime() - instant.start.getTime();
  if (bound === 'from' || precision < 60_000) return toDatetimeLocal(instant.start);
  return toDatetimeLocal(new Date(instant.end.getTime() - 60_000));
}
