import type { Kysely, RawBuilder } from 'kysely';
import {
  type LogScope,
  latestLogId,
  logIdsMatching,
  type TailLine,
  tailLinesAfter,
  tailLinesOfBatch,
  tailLinesOfScope,
} from '../../db/logs.repository.ts';
import type { Listen, NotificationConnection } from '../../db/notifications.ts';
import type { Database } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import type { StopSwitch } from '../resource-events.ts';
import { compileLogQuery, LOG_LINE_COLUMNS, type LogQuery } from './query.ts';

/**
 * Live tail of log lines for the SSE streams (routes/resource-events.tsx with `logs=1`).
 *
 * - `LogTailHub` (Node, one per process): on a real Postgres it LISTENs on 'ktrlplane_logs', where
 *   every ingest transaction notifies once with the id and time range of the rows it committed
 *   (services/logs/ingest.ts); the hub reads exactly those rows once and fans them out to the
 *   streams of their project. On PGlite (no second session to listen on; one connection, so ids
 *   follow commit order) it polls by id cursor instead.
 * - `pollLogTail` (Workers, or a stream resuming after a log id): the stream reads its own scope
 *   by cursor.
 * Filters run server-side, in SQL, with the query compiled exactly as for search: once per
 * distinct (scope, query) per batch, whatever the number of streams sharing it.
 *
 * A tail is a live view, not a durable log: lines of a batch whose notification is missed while
 * the LISTEN connection is down are not tailed (they are stored and searchable).
 */

export const LOG_TAIL_CHANNEL = 'ktrlplane_logs';

export interface LogTailFilter {
  scope: LogScope;
  query: LogQuery;
}

interface Subscriber {
  filter: LogTailFilter;
  /** Key of the filter (scope and query text): subscribers with the same key share one filter read. */
  key: string;
  condition: RawBuilder<boolean> | null;
  deliver(lines: TailLine[]): void;
}

export interface LogTailSource {
  /** Calls `deliver` with each new batch of matching lines until `stop` is switched. */
  follow(filter: LogTailFilter, deliver: (lines: TailLine[]) => void, stop: StopSwitch): Promise<void>;
}

function conditionOf(query: LogQuery): RawBuilder<boolean> | null {
  return query.clauses.length === 0 ? null : compileLogQuery(query, LOG_LINE_COLUMNS);
}

function keyOf(filter: LogTailFilter): string {
  return `${filter.scope.type}:${filter.scope.id}:${filter.query.source}`;
}

function projectOf(scope: LogScope): string {
  return scope.type === 'project' ? scope.id : (scope.projectId as string);
}

export interface LogTailHubOptions {
  db: Kysely<Database>;
  logger: Logger;
  listen?: Listen | undefined;
  /** Without `listen`: how often to poll. */
  pollIntervalMs: number;
}

interface BatchNotice {
  projectId: string;
  firstId: number;
  lastId: number;
  from: Date;
  to: Date;
}

function parseNotice(payload: string | undefined): BatchNotice | null {
  try {
    const raw = JSON.parse(payload ?? '') as { p: string; a: number; b: number; f: string; t: string };
    if (typeof raw.p !== 'string' || !Number.isSafeInteger(raw.a) || !Number.isSafeInteger(raw.b))
      return null;
    return { projectId: raw.p, firstId: raw.a, lastId: raw.b, from: new Date(raw.f), to: new Date(raw.t) };
  } catch {
    return null;
  }
}

export class LogTailHub implements LogTailSource {
  readonly #db: Kysely<Database>;
  readonly #logger: Logger;
  readonly #listen: Listen | undefined;
  readonly #pollIntervalMs: number;
  readonly #byProject = new Map<string, Set<Subscriber>>();
  #started: Promise<void> | null = null;
  #closed = false;
  #cursor = 0;
  #polling = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connection: NotificationConnection | null = null;
  /** Batches are fanned out one at a time, in the order their notifications came. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: LogTailHubOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#listen = options.listen;
    this.#pollIntervalMs = options.pollIntervalMs;
  }

  get subscribers(): number {
    let count = 0;
    for (const set of this.#byProject.values()) count += set.size;
    return count;
  }

  async follow(filter: LogTailFilter, deliver: (lines: TailLine[]) => void, stop: StopSwitch): Promise<void> {
    if (this.#closed) return;
    await this.#start();
    const projectId = projectOf(filter.scope);
    const subscriber: Subscriber = {
      filter,
      key: keyOf(filter),
      condition: conditionOf(filter.query),
      deliver,
    };
    let set = this.#byProject.get(projectId);
    if (!set) {
      set = new Set();
      this.#byProject.set(projectId, set);
    }
    set.add(subscriber);
    await stop.wait();
    set.delete(subscriber);
    if (set.size === 0) this.#byProject.delete(projectId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#reconnectTimer);
    this.#byProject.clear();
    const connection = this.#connection;
    this.#connection = null;
    await connection?.close();
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      if (this.#listen) {
        await this.#connect();
      } else {
        this.#cursor = await latestLogId(this.#db);
        this.#timer = setInterval(() => void this.#poll(), this.#pollIntervalMs);
        this.#timer.unref?.();
      }
      this.#logger.info('log tail hub started', { mode: this.#listen ? 'listen' : 'poll' });
    })().catch((error: unknown) => {
      this.#started = null;
      throw error;
    });
    return this.#started;
  }

  async #connect(): Promise<void> {
    const listen = this.#listen;
    if (!listen || this.#closed) return;
    try {
      const connection = await listen(LOG_TAIL_CHANNEL, {
        onNotification: (payload) => {
          const notice = parseNotice(payload);
          if (!notice || !this.#byProject.has(notice.projectId)) return;
          this.#queue = this.#queue.then(() => this.#readBatch(notice));
        },
        onLost: (error) => {
          if (this.#connection !== connection) return;
          this.#connection = null;
          this.#logger.warn('log tail LISTEN connection lost; reconnecting', { err: error });
          this.#scheduleReconnect();
        },
      });
      if (this.#closed) await connection.close();
      else this.#connection = connection;
    } catch (error) {
      this.#logger.warn('log tail LISTEN failed; retrying', { err: error });
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), 1_000);
    this.#reconnectTimer.unref?.();
  }

  async #readBatch(notice: BatchNotice): Promise<void> {
    try {
      const lines = await tailLinesOfBatch(this.#db, notice);
      await this.#fanOut(lines);
    } catch (error) {
      this.#logger.error('reading a tailed log batch failed', { err: error });
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      if (this.#byProject.size === 0) {
        // Nobody follows: skip to the newest line rather than read lines no stream wants.
        this.#cursor = await latestLogId(this.#db);
        return;
      }
      for (;;) {
        const lines = await tailLinesAfter(this.#db, this.#cursor, 1_000);
        const last = lines.at(-1);
        if (!last) break;
        this.#cursor = last.id;
        await this.#fanOut(lines);
        if (lines.length < 1_000) break;
      }
    } catch (error) {
      this.#logger.error('polling log lines for the tail failed', { err: error });
    } finally {
      this.#polling = false;
    }
  }

  async #fanOut(lines: TailLine[]): Promise<void> {
    const byProject = new Map<string, TailLine[]>();
    for (const line of lines) {
      if (!this.#byProject.has(line.project_id)) continue;
      const list = byProject.get(line.project_id);
      if (list) list.push(line);
      else byProject.set(line.project_id, [line]);
    }
    for (const [projectId, projectLines] of byProject) {
      const matches = new Map<string, TailLine[]>();
      for (const subscriber of this.#byProject.get(projectId) ?? []) {
        let share = matches.get(subscriber.key);
        if (!share) {
          share = await this.#match(subscriber, projectId, projectLines);
          matches.set(subscriber.key, share);
        }
        if (share.length > 0) subscriber.deliver(share);
      }
    }
  }

  async #match(subscriber: Subscriber, projectId: string, lines: TailLine[]): Promise<TailLine[]> {
    const scope = subscriber.filter.scope;
    const inScope = scope.type === 'resource' ? lines.filter((line) => line.resource_id === scope.id) : lines;
    if (inScope.length === 0 || !subscriber.condition) return inScope;
    const ids = await logIdsMatching(this.#db, projectId, inScope, subscriber.condition);
    return inScope.filter((line) => ids.has(Number(line.id)));
  }
}

/** How far back a resuming tail looks for lines it missed. */
const RESUME_WINDOW_MS = 60 * 60_000;

/**
 * The lines of a scope after `afterId` (a tail resuming), then — without a hub — new ones by
 * polling its own cursor until stopped.
 */
export async function pollLogTail(
  db: Kysely<Database>,
  filter: LogTailFilter,
  afterId: number,
  deliver: (lines: TailLine[]) => void,
  stop: StopSwitch,
  options: { now: () => Date; pollIntervalMs: number | null },
): Promise<number> {
  const condition = compileLogQuery(filter.query, LOG_LINE_COLUMNS);
  let cursor = afterId;
  do {
    for (;;) {
      const lines = await tailLinesOfScope(db, filter.scope, {
        afterId: cursor,
        since: new Date(options.now().getTime() - RESUME_WINDOW_MS),
        condition,
        limit: 500,
      });
      const last = lines.at(-1);
      if (!last || stop.stopped) break;
      cursor = last.id;
      deliver(lines);
      if (lines.length < 500) break;
    }
    if (options.pollIntervalMs === null) return cursor;
    await stop.wait(options.pollIntervalMs);
  } while (!stop.stopped);
  return cursor;
}
