import type { Kysely } from 'kysely';
import type { Listen, NotificationConnection } from '../db/notifications.ts';
import {
  type DeploymentEvent,
  latestEventId,
  listEventsAfterForFanOut,
  listProjectEvents,
  listResourceEvents,
} from '../db/resource-deployments.repository.ts';
import {
  type ResourceState,
  resourceStatesForFanOut,
  resourceStatesInScope,
} from '../db/resource-states.repository.ts';
import type { Database } from '../db/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { AuthorizedScope } from './rbac.ts';

/**
 * Live status events of resources for the SSE streams (routes/resource-events.tsx).
 *
 * Every status transition is a row of ktrlplane.resource_deployments, written by a trigger that
 * also NOTIFYs 'ktrlplane_resource_events' (migration 0007); event ids follow commit order, so
 * "every event after id N" is a complete resume cursor. Two ways to follow them:
 *
 * - `ResourceEventHub` (Node, one per process): woken by NOTIFY on one dedicated LISTEN
 *   connection (a real Postgres) or by a shared poll loop (PGlite, which has no second session to
 *   listen on), it reads the new events once by cursor and fans them out in memory to every
 *   subscribed stream whose resource or project they belong to. A slow safety-net poll covers
 *   notifications lost while the LISTEN connection was down. Per event: one read for all clients.
 * - `PollingEventSource` (Workers, where requests share nothing): each stream polls the history
 *   table by its own cursor, and streams end after a few minutes so the client reconnects with it.
 *
 * Either way a stream gets each event once, in id order, with no gap: with a hub, a stream
 * subscribes first and then reads its backlog from the table, keeping the live events that arrive
 * meanwhile and dropping those it already sent (see `follow`).
 */

export const RESOURCE_EVENTS_CHANNEL = 'ktrlplane_resource_events';

export type EventScope = AuthorizedScope<'project'> | AuthorizedScope<'resource'>;

/** One event and the state its resource is in now (null once the row is gone). */
export interface ResourceEventItem {
  event: DeploymentEvent;
  resource: ResourceState | null;
  /** Encodings of this item, shared by all streams that send it in the same form. */
  readonly encoded: Map<string, Uint8Array>;
}

export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** The caller's credential and permission are checked again this often; revoked access ends it. */
  accessRecheckMs: number;
  /** Bytes a client may have waiting; a client that falls further behind is cut off (it resumes). */
  maxBufferedBytes: number;
  /** Live events a stream keeps while it sends its backlog; more and the client is cut off. */
  maxPendingEvents: number;
  /** Events read per query when catching up. */
  pageSize: number;
  /** Per-stream polling (no hub): how often a stream reads the history table. */
  pollIntervalMs: number;
  /** Streams end after this long (the client reconnects with its cursor); null: never. */
  maxStreamMs: number | null;
}

export const DEFAULT_STREAM_OPTIONS: EventStreamOptions = {
  heartbeatMs: 15_000,
  accessRecheckMs: 60_000,
  maxBufferedBytes: 128 * 1024,
  maxPendingEvents: 1_000,
  pageSize: 200,
  pollIntervalMs: 2_000,
  maxStreamMs: null,
};

/** Workers: a request that streams for hours holds an isolate; a few minutes, then resume. */
export const WORKERS_STREAM_OPTIONS: EventStreamOptions = {
  ...DEFAULT_STREAM_OPTIONS,
  maxStreamMs: 5 * 60_000,
};

/** Where a stream's events go. Items come in id order, each once. */
export interface EventSink {
  /** A burst of live items, written without waiting; false when the stream has ended (the feed stops). */
  live(items: readonly ResourceEventItem[]): boolean;
  /** Catch-up items, written as the client takes them; false when the stream has ended. */
  backlog(items: readonly ResourceEventItem[]): Promise<boolean>;
}

/** A source of live events for streams: the hub, or per-stream polling. */
export interface ResourceEventSource {
  readonly options: EventStreamOptions;
  /**
   * Sends the events of `scope` after `after` (without a cursor: those committed from now on) to
   * `sink` until `stop` is switched, the sink refuses, or the source closes. Resolves once the
   * starting point is fixed; `done` resolves when the stream has nothing more to send.
   */
  follow(
    db: Kysely<Database>,
    scope: EventScope,
    after: number | undefined,
    sink: EventSink,
    stop: StopSwitch,
  ): Promise<{ done: Promise<void> }>;
}

/**
 * How the parts of one stream stop each other (client gone, access revoked, time up, hub closing).
 * Lighter than an AbortController, whose EventTarget costs more than a thousand streams should.
 */
export class StopSwitch {
  #stopped = false;
  readonly #listeners = new Set<() => void>();

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const listener of this.#listeners) listener();
    this.#listeners.clear();
  }

  /** Calls `listener` once stopped (at once if already); answers a function that unregisters it. */
  onStop(listener: () => void): () => void {
    if (this.#stopped) {
      listener();
      return () => {};
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once stopped, or after `ms` when given. */
  wait(ms?: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.#listeners.add(done);
    });
  }
}

function itemOf(event: DeploymentEvent, resource: ResourceState | null): ResourceEventItem {
  return { event, resource, encoded: new Map() };
}

/**
 * Reads the events of `scope` after `after` page by page and hands them to `deliver` (which waits
 * for the client). Answers the id of the last event delivered (`after` when there was none).
 */
export async function readBacklog(
  db: Kysely<Database>,
  scope: EventScope,
  after: number,
  deliver: (items: ResourceEventItem[]) => Promise<boolean>,
  options: { pageSize: number; stop?: StopSwitch },
): Promise<number> {
  let cursor = after;
  for (;;) {
    const page = { after: cursor, limit: options.pageSize };
    const events =
      scope.type === 'resource'
        ? await listResourceEvents(db, scope as AuthorizedScope<'resource'>, page)
        : await listProjectEvents(db, scope as AuthorizedScope<'project'>, page);
    const last = events.at(-1);
    if (!last || options.stop?.stopped) return cursor;
    const states = await resourceStatesInScope(db, scope, [...new Set(events.map((e) => e.resource_id))]);
    const byId = new Map(states.map((state) => [state.resource_id, state]));
    const items = events.map((event) => itemOf(event, byId.get(event.resource_id) ?? null));
    if (!(await deliver(items))) return cursor;
    cursor = last.event_id;
    if (events.length < options.pageSize) return cursor;
  }
}

/** Each stream polls the history table by its own cursor (Workers; Node without a hub). */
export class PollingEventSource implements ResourceEventSource {
  constructor(readonly options: EventStreamOptions) {}

  async follow(
    db: Kysely<Database>,
    scope: EventScope,
    after: number | undefined,
    sink: EventSink,
    stop: StopSwitch,
  ): Promise<{ done: Promise<void> }> {
    // The newest id is only a starting point here; it is never sent to the client.
    let cursor = after ?? (await latestEventId(db));
    const deliver = (items: readonly ResourceEventItem[]) => sink.backlog(items);
    const poll = async () => {
      while (!stop.stopped) {
        cursor = await readBacklog(db, scope, cursor, deliver, { pageSize: this.options.pageSize, stop });
        await stop.wait(this.options.pollIntervalMs);
      }
    };
    return { done: poll() };
  }
}

interface Subscriber {
  /** The items of one read that belong to the subscriber's scope, in id order (read-only). */
  deliver(items: readonly ResourceEventItem[]): void;
  /** The hub is closing. */
  end(): void;
}

export interface ResourceEventHubOptions {
  db: Kysely<Database>;
  logger: Logger;
  /** LISTEN on a real Postgres; without it the hub polls. */
  listen?: Listen | undefined;
  /** Without `listen`, how often the hub polls; with it, the safety-net poll. */
  pollIntervalMs: number;
  /** Events read per query. */
  batchSize?: number;
  stream?: Partial<EventStreamOptions>;
}

export interface HubStats {
  subscribers: number;
  cursor: number;
  listening: boolean;
  /** Reads of the history table so far (one per wake, whatever the number of subscribers). */
  reads: number;
}

/**
 * The process-wide fan-out of resource events (Node). Started by the first subscriber; `close()`
 * ends every stream it feeds (graceful shutdown).
 */
export class ResourceEventHub implements ResourceEventSource {
  readonly options: EventStreamOptions;
  readonly #db: Kysely<Database>;
  readonly #logger: Logger;
  readonly #listen: Listen | undefined;
  readonly #pollIntervalMs: number;
  readonly #batchSize: number;
  #started: Promise<void> | null = null;
  #ready = false;
  #closed = false;
  #cursor = 0;
  #reading = false;
  #readAgain = false;
  #reads = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #connection: NotificationConnection | null = null;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnectDelayMs = 1_000;
  readonly #byResource = new Map<string, Set<Subscriber>>();
  readonly #byProject = new Map<string, Set<Subscriber>>();
  #subscribers = 0;

  constructor(options: ResourceEventHubOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#listen = options.listen;
    this.#pollIntervalMs = options.pollIntervalMs;
    this.#batchSize = options.batchSize ?? 500;
    this.options = { ...DEFAULT_STREAM_OPTIONS, ...options.stream };
  }

  get stats(): HubStats {
    return {
      subscribers: this.#subscribers,
      cursor: this.#cursor,
      listening: this.#connection !== null,
      reads: this.#reads,
    };
  }

  async follow(
    db: Kysely<Database>,
    scope: EventScope,
    after: number | undefined,
    sink: EventSink,
    stop: StopSwitch,
  ): Promise<{ done: Promise<void> }> {
    // Until the backlog is sent, live events wait here; then they go straight to the sink.
    const pending: ResourceEventItem[] = [];
    let catchingUp = true;
    let last = after ?? 0;
    const maxPending = this.options.maxPendingEvents;
    const unsubscribe = await this.#subscribe(scope, {
      deliver(items) {
        if (catchingUp) {
          if (pending.length + items.length > maxPending) stop.stop();
          else pending.push(...items);
          return;
        }
        // Most reads carry one new event; filtering is for the overlap with the backlog.
        const first = items[0];
        const fresh =
          first && first.event.event_id > last ? items : items.filter((i) => i.event.event_id > last);
        const newest = fresh.at(-1);
        if (!newest) return;
        last = newest.event.event_id;
        if (!sink.live(fresh)) stop.stop();
      },
      end: () => stop.stop(),
    });
    // Subscribed first: every event the hub has not fanned out yet reaches this stream live, and
    // every one it has was committed before now — so a read from here on sees it. Without a
    // cursor the stream starts at the newest id (older ones the hub still delivers are dropped).
    if (after === undefined) {
      try {
        last = await latestEventId(db);
      } catch (error) {
        unsubscribe();
        throw error;
      }
    }
    const run = async () => {
      try {
        if (after !== undefined) {
          last = await readBacklog(db, scope, after, (items) => sink.backlog(items), {
            pageSize: this.options.pageSize,
            stop,
          });
        }
        while (pending.length > 0 && !stop.stopped) {
          const fresh = pending.splice(0).filter((item) => item.event.event_id > last);
          const newest = fresh.at(-1);
          if (!newest) continue;
          if (!(await sink.backlog(fresh))) stop.stop();
          last = newest.event.event_id;
        }
        catchingUp = false;
        await stop.wait();
      } finally {
        unsubscribe();
      }
    };
    return { done: run() };
  }

  /** Stops listening and polling and ends every stream fed by the hub. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#reconnectTimer);
    const connection = this.#connection;
    this.#connection = null;
    for (const subscribers of [...this.#byResource.values(), ...this.#byProject.values()]) {
      for (const subscriber of subscribers) subscriber.end();
    }
    this.#byResource.clear();
    this.#byProject.clear();
    this.#subscribers = 0;
    await connection?.close();
  }

  /** Reads and fans out what is new (NOTIFY handler, poll tick); concurrent wakes coalesce. */
  wake(): void {
    if (!this.#ready || this.#closed) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    void this.#readNew();
  }

  async #subscribe(scope: EventScope, subscriber: Subscriber): Promise<() => void> {
    if (this.#closed) throw new Error('The resource event hub is closed.');
    await this.#start();
    const index = scope.type === 'resource' ? this.#byResource : this.#byProject;
    let set = index.get(scope.id);
    if (!set) {
      set = new Set();
      index.set(scope.id, set);
    }
    set.add(subscriber);
    this.#subscribers += 1;
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const current = index.get(scope.id);
      if (current?.delete(subscriber)) {
        this.#subscribers -= 1;
        if (current.size === 0) index.delete(scope.id);
      }
    };
  }

  #start(): Promise<void> {
    this.#started ??= (async () => {
      // LISTEN before reading the newest id: a notification in between only causes a read.
      if (this.#listen) await this.#connect();
      this.#cursor = await latestEventId(this.#db);
      this.#ready = true;
      this.#timer = setInterval(() => this.#tick(), this.#pollIntervalMs);
      this.#timer.unref?.();
      this.#logger.info('resource event hub started', {
        mode: this.#listen ? 'listen' : 'poll',
        poll_interval_ms: this.#pollIntervalMs,
        cursor: this.#cursor,
      });
    })().catch((error: unknown) => {
      // The next subscriber tries again.
      this.#started = null;
      throw error;
    });
    return this.#started;
  }

  #tick(): void {
    this.wake();
    // A half-open connection reports nothing; a round trip finds out (and triggers a reconnect).
    this.#connection?.ping(Math.min(this.#pollIntervalMs, 5_000)).catch(() => {});
  }

  async #connect(): Promise<void> {
    const listen = this.#listen;
    if (!listen || this.#closed) return;
    try {
      const connection = await listen(RESOURCE_EVENTS_CHANNEL, {
        onNotification: () => this.wake(),
        onLost: (error) => {
          if (this.#connection !== connection) return;
          this.#connection = null;
          this.#logger.warn('resource event LISTEN connection lost; polling until it is back', {
            err: error,
          });
          this.#scheduleReconnect();
        },
      });
      if (this.#closed) {
        await connection.close();
        return;
      }
      this.#connection = connection;
      this.#reconnectDelayMs = 1_000;
      // Events committed while nobody listened.
      this.wake();
    } catch (error) {
      this.#logger.warn('resource event LISTEN failed; polling until it succeeds', { err: error });
      this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), this.#reconnectDelayMs);
    this.#reconnectTimer.unref?.();
    this.#reconnectDelayMs = Math.min(this.#reconnectDelayMs * 2, 30_000);
  }

  async #readNew(): Promise<void> {
    this.#reading = true;
    try {
      do {
        this.#readAgain = false;
        for (;;) {
          const events = await listEventsAfterForFanOut(this.#db, this.#cursor, this.#batchSize);
          this.#reads += 1;
          const last = events.at(-1);
          if (!last || this.#closed) break;
          await this.#fanOut(events);
          this.#cursor = last.event_id;
          if (events.length < this.#batchSize) break;
        }
      } while (this.#readAgain && !this.#closed);
    } catch (error) {
      // The cursor moves only past what was fanned out; the next wake reads the rest again (streams
      // drop what they already sent).
      this.#logger.error('reading resource events failed', { err: error });
    } finally {
      this.#reading = false;
    }
  }

  async #fanOut(events: DeploymentEvent[]): Promise<void> {
    const wanted = events.filter(
      (event) => this.#byResource.has(event.resource_id) || this.#byProject.has(event.project_id),
    );
    if (wanted.length === 0) return;
    const states = await resourceStatesForFanOut(this.#db, [
      ...new Set(wanted.map((event) => event.resource_id)),
    ]);
    const byId = new Map(states.map((state) => [state.resource_id, state]));
    const [only] = wanted;
    if (only && wanted.length === 1) {
      // The common case, one new event: the same (never mutated) array for every subscriber.
      const items = [itemOf(only, byId.get(only.resource_id) ?? null)];
      for (const subscriber of this.#byResource.get(only.resource_id) ?? []) subscriber.deliver(items);
      for (const subscriber of this.#byProject.get(only.project_id) ?? []) subscriber.deliver(items);
      return;
    }
    // Each subscriber gets its share of the read as one burst (see lib/sse.ts on bursts).
    const shares = new Map<Subscriber, ResourceEventItem[]>();
    const add = (subscribers: Set<Subscriber> | undefined, item: ResourceEventItem) => {
      for (const subscriber of subscribers ?? []) {
        const share = shares.get(subscriber);
        if (share) share.push(item);
        else shares.set(subscriber, [item]);
      }
    };
    for (const event of wanted) {
      const item = itemOf(event, byId.get(event.resource_id) ?? null);
      add(this.#byResource.get(event.resource_id), item);
      add(this.#byProject.get(event.project_id), item);
    }
    for (const [subscriber, items] of shares) subscriber.deliver(items);
  }
}
