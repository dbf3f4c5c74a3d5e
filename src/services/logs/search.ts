import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import {
  type LogScope,
  readTimeline,
  type TimelineEntry,
  type TimelinePosition,
} from '../../db/logs.repository.ts';
import type { Database } from '../../db/types.ts';
import { unprocessable } from '../../lib/errors.ts';
import { LOG_RANGE_MS, type LogRange, type LogSearchQuery } from '../../schemas/logs.ts';
import { compileLogQuery, LOG_LINE_COLUMNS, type LogColumns, type LogQuery, parseLogQuery } from './query.ts';

/**
 * Searching the timeline of a resource or project: stored log lines and status transitions
 * (resource_deployments, read in place) in one newest-first order, filtered by the query language,
 * paged by an opaque cursor (the last entry's time, kind and id). Tenancy: the scope was authorized
 * by the route (read), and every read is confined to its project (and resource).
 */

/** Status transitions seen through the query language: their text, their level, their fields as attributes. */
const STATUS_COLUMNS: LogColumns = {
  search: sql`to_tsvector('simple', s.message)`,
  level: sql.ref('s.level'),
  attributes: sql.ref('s.attributes'),
  resourceId: sql.ref('s.resource_id'),
};

export interface LogEntryJson extends TimelineEntry {
  /** Where this entry is: pass as `cursor` to continue after it, or as `line` for its context. */
  cursor: string;
}

export interface LogSearchResult {
  q: string;
  from: Date;
  to: Date;
  range: LogRange;
  entries: LogEntryJson[];
  /** The next (older) page, or null at the end. */
  next_cursor: string | null;
}

export function encodeCursor(entry: Pick<TimelineEntry, 'ts' | 'kind' | 'id'>): string {
  return `${entry.ts.getTime()}_${entry.kind === 'log' ? 1 : 0}_${entry.id}`;
}

export function decodeCursor(cursor: string, pointer = '/cursor'): TimelinePosition {
  const match = /^(\d{1,15})_([01])_(\d{1,18})$/.exec(cursor);
  if (!match)
    throw unprocessable([
      { pointer, message: 'this is not a cursor ktrlplane gave out; start again without it' },
    ]);
  return { ts: new Date(Number(match[1])), rank: Number(match[2]) as 0 | 1, id: Number(match[3]) };
}

function withCursor(entry: TimelineEntry): LogEntryJson {
  return { ...entry, cursor: encodeCursor(entry) };
}

/** The window a search covers: a named range ending now, or custom from/to (default: the last hour). */
export function resolveTimeRange(
  input: Pick<LogSearchQuery, 'range' | 'from' | 'to'>,
  now: Date,
): { from: Date; to: Date; range: LogRange } {
  if (input.from || input.to || input.range === 'custom') {
    const to = input.to ?? now;
    const from = input.from ?? new Date(to.getTime() - LOG_RANGE_MS['1h']);
    if (from.getTime() >= to.getTime())
      throw unprocessable([{ pointer: '/to', message: '"to" must be after "from"' }]);
    return { from, to, range: 'custom' };
  }
  const range = input.range ?? '1h';
  return { from: new Date(now.getTime() - LOG_RANGE_MS[range]), to: new Date(now.getTime() + 1), range };
}

function conditions(query: LogQuery) {
  return {
    logCondition: compileLogQuery(query, LOG_LINE_COLUMNS),
    statusCondition: compileLogQuery(query, STATUS_COLUMNS),
  };
}

export async function searchLogs(
  db: Kysely<Database>,
  scope: LogScope,
  input: LogSearchQuery,
  now: Date,
): Promise<LogSearchResult> {
  const query = parseLogQuery(input.q);
  const window = resolveTimeRange(input, now);
  const rows = await readTimeline(db, scope, {
    ...window,
    ...conditions(query),
    limit: input.limit + 1,
    position: input.cursor ? decodeCursor(input.cursor) : undefined,
    direction: 'older',
  });
  const page = rows.slice(0, input.limit).map(withCursor);
  const last = page.at(-1);
  return {
    q: input.q,
    ...window,
    entries: page,
    next_cursor: rows.length > input.limit && last ? last.cursor : null,
  };
}

/** Every matching entry, page by page (downloads), at most `max`. */
export async function* allMatchingLogs(
  db: Kysely<Database>,
  scope: LogScope,
  input: LogSearchQuery,
  now: Date,
  max: number,
): AsyncGenerator<LogEntryJson[]> {
  const query = parseLogQuery(input.q);
  const window = resolveTimeRange(input, now);
  let position = input.cursor ? decodeCursor(input.cursor) : undefined;
  let sent = 0;
  while (sent < max) {
    const rows = await readTimeline(db, scope, {
      ...window,
      ...conditions(query),
      limit: Math.min(1000, max - sent),
      position,
      direction: 'older',
    });
    if (rows.length === 0) return;
    yield rows.map(withCursor);
    sent += rows.length;
    const last = rows.at(-1) as TimelineEntry;
    position = { ts: last.ts, rank: last.kind === 'log' ? 1 : 0, id: last.id };
    if (rows.length < 1000) return;
  }
}

export interface LogContext {
  line: LogEntryJson | null;
  /** Older entries, oldest first. */
  before: LogEntryJson[];
  /** Newer entries, oldest first. */
  after: LogEntryJson[];
}

const CONTEXT_WINDOW_MS = 24 * 60 * 60_000;

/** The `size` entries before and after a line, unfiltered (what happened around it). */
export async function logContext(
  db: Kysely<Database>,
  scope: LogScope,
  lineCursor: string,
  size: number,
): Promise<LogContext> {
  const position = decodeCursor(lineCursor, '/line');
  const everything = conditions(parseLogQuery(''));
  const window = {
    from: new Date(position.ts.getTime() - CONTEXT_WINDOW_MS),
    to: new Date(position.ts.getTime() + CONTEXT_WINDOW_MS),
    ...everything,
  };
  const [older, newer] = await Promise.all([
    readTimeline(db, scope, { ...window, limit: size + 1, position, inclusive: true, direction: 'older' }),
    readTimeline(db, scope, { ...window, limit: size, position, direction: 'newer' }),
  ]);
  const [first, ...rest] = older;
  const isLine = first !== undefined && encodeCursor(first) === lineCursor;
  const before = (isLine ? rest : older.slice(0, size)).reverse();
  return {
    line: isLine && first ? withCursor(first) : null,
    before: before.map(withCursor),
    after: newer.map(withCursor),
  };
}
