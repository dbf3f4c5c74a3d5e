import { type Context, Hono } from 'hono';
import { latestLogId, type TailLine } from '../db/logs.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { AppError, badRequest } from '../lib/errors.ts';
import { parseInput } from '../lib/input.ts';
import { sseConnectionOpened } from '../lib/metrics.ts';
import { isApiPath } from '../lib/negotiate.tsx';
import { encodeSseComment, encodeSseMessage, SSE_HEADERS, SseStream } from '../lib/sse.ts';
import { streamSlotsFor } from '../lib/stream-slots.ts';
import { eventStreamQuery, lastEventIdHeader } from '../schemas/resource-events.ts';
import { principalFromBearer, principalFromSession } from '../services/authentication.ts';
import { summarizeDeployment } from '../services/deployment-status.ts';
import { parseLogQuery } from '../services/logs/query.ts';
import { type LogTailFilter, pollLogTail } from '../services/logs/tail.ts';
import type { Principal } from '../services/principal.ts';
import { type AuthorizedScope, authorize } from '../services/rbac.ts';
import {
  DEFAULT_STREAM_OPTIONS,
  type EventScope,
  type EventSink,
  PollingEventSource,
  type ResourceEventItem,
  type ResourceEventSource,
  readBacklog,
  StopSwitch,
  WORKERS_STREAM_OPTIONS,
} from '../services/resource-events.ts';
import { projectEventFragment } from '../views/components/resource-row.tsx';
import { resourceEventFragment } from '../views/components/resource-status.tsx';

/**
 * Live status of resources as Server-Sent Events (text/event-stream):
 * - GET /projects/:projectId/resources/:resourceId/events — that resource's status changes;
 * - GET /projects/:projectId/events — those of every resource of the project (list pages).
 *
 * Each event's `id:` is its event id. A client resumes with Last-Event-ID (or `?after=<id>`) and
 * gets what it missed, each event once; without a cursor a stream starts at the present.
 * `?once=1` sends what is stored after the cursor and ends. Events are JSON (`event: status`, the
 * history row plus the resource's current deployment summary) or, with `?format=html`, unnamed
 * messages of `<hx-partial>` fragments that htmx's SSE extension swaps into the page. A comment
 * line every 15 s keeps the connection open through proxies. Read permission is checked at connect
 * (a tenant who may not see the scope gets 404 before any stream starts) and again every minute,
 * with the credential itself re-validated: revoked access sends `event: revoked` and ends the
 * stream.
 *
 * With `?logs=1` the stream also carries the scope's new log lines as `event: log` (JSON), filtered
 * server-side by `q` (the log query language; malformed: 422 before the stream starts), resumed
 * with `log_after=<log id>`; lines a slow client cannot take are dropped and reported as
 * `event: dropped` ({"count": n}) rather than cutting the client off.
 */
export const resourceEventsRoutes = new Hono<AppEnv>();

const pollingSources = {
  node: new PollingEventSource(DEFAULT_STREAM_OPTIONS),
  workers: new PollingEventSource(WORKERS_STREAM_OPTIONS),
};

const HEARTBEAT = encodeSseComment('heartbeat');

resourceEventsRoutes.get(
  '/projects/:projectId/resources/:resourceId/events',
  requireAccess('read', 'resource', 'resourceId'),
  (c) => streamEvents(c, c.get('scope') as AuthorizedScope<'resource'>),
);

resourceEventsRoutes.get('/projects/:projectId/events', requireAccess('read', 'project', 'projectId'), (c) =>
  streamEvents(c, c.get('scope') as AuthorizedScope<'project'>),
);

function resumeCursor(c: Context<AppEnv>, after: number | undefined): number | undefined {
  const header = c.req.header('Last-Event-ID');
  if (header === undefined || header === '') return after;
  const parsed = lastEventIdHeader.safeParse(header);
  if (!parsed.success) throw badRequest('Last-Event-ID must be an event id this stream sent (an integer).');
  return parsed.data;
}

async function streamEvents(c: Context<AppEnv>, scope: EventScope): Promise<Response> {
  const deps = c.get('deps');
  const log = c.get('log');
  const query = parseInput(eventStreamQuery, c.req.query());
  const after = resumeCursor(c, query.after);
  // A malformed filter is a 422 before the stream starts.
  const logQuery = query.logs ? parseLogQuery(query.q) : null;
  const source: ResourceEventSource =
    deps.resourceEvents ?? (deps.runtime === 'workers' ? pollingSources.workers : pollingSources.node);
  const options = source.options;
  const stream = new SseStream({ maxBufferedBytes: options.maxBufferedBytes });
  const encode = encoderFor(c, scope, query.format);
  const sink: EventSink = {
    live: (items) => stream.write(items.map(encode)),
    backlog: async (items) => {
      for (const item of items) if (!(await stream.writeWhenReady(encode(item)))) return false;
      return true;
    },
  };

  const slots = deps.streamSlots ?? streamSlotsFor(deps.config);
  let release = () => {};
  let running: Promise<void>;
  if (query.once) {
    // Without a cursor there is nothing stored "after" it to send.
    running =
      after === undefined
        ? Promise.resolve()
        : readBacklog(deps.db, scope, after, sink.backlog, options).then(() => {});
  } else {
    // Counted before anything is opened; given back however the stream ends (below).
    release = slots.acquire(c.get('principal')?.userId ?? 'anonymous');
    const stop = new StopSwitch();
    stream.onEnd(() => stop.stop());
    // Resolves once the stream's starting point is fixed: every event committed from here on is in
    // it, so a client that connects without a cursor misses nothing after its response began.
    const { done } = await source.follow(deps.db, scope, after, sink, stop).catch((error: unknown) => {
      release();
      throw error;
    });
    const heartbeat = setInterval(() => stream.write(HEARTBEAT), options.heartbeatMs);
    const recheck = accessRecheck(c, scope, stream, options.accessRecheckMs);
    const deadline =
      options.maxStreamMs === null ? undefined : setTimeout(() => stop.stop(), options.maxStreamMs);
    // Log lines end with the stream, and a failing tail ends the stream (the client reconnects).
    const logs = logQuery
      ? followLogLines(c, { scope, query: logQuery }, query.log_after, stream, stop).finally(() =>
          stop.stop(),
        )
      : Promise.resolve();
    running = Promise.all([done, logs])
      .then(() => {})
      .finally(() => {
        clearInterval(heartbeat);
        clearInterval(recheck);
        clearTimeout(deadline);
      });
  }
  // Counted in sse_connections and traced as a span for as long as it is open.
  const closed = sseConnectionOpened(c.req.routePath);
  running
    .catch((error: unknown) => log.error('event stream failed', { err: error }))
    .finally(() => {
      log.debug('event stream ended', { reason: stream.ended ?? 'closed', scope: scope.type });
      stream.close();
      release();
      closed();
    });
  return c.body(stream.body, 200, SSE_HEADERS);
}

function encodeLogLine(line: TailLine): Uint8Array {
  return encodeSseMessage({
    event: 'log',
    data: JSON.stringify({
      id: line.id,
      ts: line.ts,
      resource_id: line.resource_id,
      level: line.level,
      message: line.message,
      attributes: line.attributes,
    }),
  });
}

/** Live lines a stream holds while it sends what it missed; more are dropped (and counted). */
const MAX_PENDING_LOG_LINES = 5_000;

/**
 * Log lines on the same stream (`logs=1`): `event: log` messages without an `id:` (the status
 * cursor stays the resume point of status events; a tail resumes with `log_after=<id>`). Lines
 * are never worth cutting a client off for: when its buffer is full they are dropped and the next
 * message that fits is `event: dropped` with how many were lost.
 */
async function followLogLines(
  c: Context<AppEnv>,
  filter: LogTailFilter,
  logAfter: number | undefined,
  stream: SseStream,
  stop: StopSwitch,
): Promise<void> {
  const deps = c.get('deps');
  let dropped = 0;
  const deliver = (lines: readonly TailLine[]) => {
    for (const line of lines) {
      if (dropped > 0) {
        if (!stream.offer(encodeSseMessage({ event: 'dropped', data: JSON.stringify({ count: dropped }) }))) {
          dropped += 1;
          continue;
        }
        dropped = 0;
      }
      if (!stream.offer(encodeLogLine(line))) dropped += 1;
    }
  };
  const now = () => deps.clock.now();
  const hub = deps.logTail;
  if (!hub) {
    // Each stream polls its own scope (Workers): from the resume point, or from the newest line.
    const start = logAfter ?? (await latestLogId(deps.db));
    await pollLogTail(deps.db, filter, start, deliver, stop, { now, pollIntervalMs: 1_000 });
    return;
  }
  let catchingUp = logAfter !== undefined;
  const pending: TailLine[] = [];
  const following = hub.follow(
    filter,
    (lines) => {
      if (!catchingUp) return deliver(lines);
      for (const line of lines) {
        if (pending.length < MAX_PENDING_LOG_LINES) pending.push(line);
        else dropped += 1;
      }
    },
    stop,
  );
  if (logAfter !== undefined) {
    const sent = new Set<number>();
    await pollLogTail(
      deps.db,
      filter,
      logAfter,
      (lines) => {
        for (const line of lines) sent.add(line.id);
        deliver(lines);
      },
      stop,
      { now, pollIntervalMs: null },
    );
    catchingUp = false;
    deliver(pending.splice(0).filter((line) => !sent.has(line.id)));
  }
  await following;
}

/** One event in the stream's format, encoded once per format for all streams that send it. */
function encoderFor(
  c: Context<AppEnv>,
  scope: EventScope,
  format: 'json' | 'html',
): (item: ResourceEventItem) => Uint8Array {
  const { clock, config } = c.get('deps');
  const key = format === 'json' ? 'json' : `html:${scope.type}`;
  return (item) => {
    const cached = item.encoded.get(key);
    if (cached) return cached;
    const now = clock.now();
    const summary = item.resource
      ? summarizeDeployment(item.resource, now, config.STUCK_AFTER_SECONDS)
      : null;
    const { event } = item;
    const bytes =
      format === 'json'
        ? encodeSseMessage({
            id: event.event_id,
            event: 'status',
            data: JSON.stringify({ ...event, deployment: summary }),
          })
        : encodeSseMessage({
            id: event.event_id,
            data: String(
              scope.type === 'resource'
                ? resourceEventFragment({ event, summary, now })
                : projectEventFragment({ event, resource: item.resource, summary, now }),
            ),
          });
    item.encoded.set(key, bytes);
    return bytes;
  };
}

/**
 * Checks the stream's access again every `intervalMs`: the credential (a session can end, a token
 * be revoked) and read permission on the scope (a role can be withdrawn). Revoked access sends
 * `event: revoked` and ends the stream. A database error keeps the stream until the next check.
 */
function accessRecheck(
  c: Context<AppEnv>,
  scope: EventScope,
  stream: SseStream,
  intervalMs: number,
): ReturnType<typeof setInterval> {
  let checking = false;
  return setInterval(() => {
    if (checking || stream.ended) return;
    checking = true;
    stillAllowed(c, scope)
      .then((allowed) => {
        if (allowed || stream.ended) return;
        stream.write(
          encodeSseMessage({
            event: 'revoked',
            data: JSON.stringify({
              detail: 'Your access to this stream was withdrawn or your sign-in ended.',
            }),
          }),
        );
        stream.close();
      })
      .catch((error: unknown) => c.get('log').warn('event stream access check failed', { err: error }))
      .finally(() => {
        checking = false;
      });
  }, intervalMs);
}

async function stillAllowed(c: Context<AppEnv>, scope: EventScope): Promise<boolean> {
  const deps = c.get('deps');
  // The same credential the stream was opened with, resolved as the authentication middleware does.
  const header = c.req.header('Authorization');
  let principal: Principal | null = null;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    principal = match?.[1] ? await principalFromBearer(deps, match[1]) : null;
  } else if (!isApiPath(c.req.path)) {
    principal = await principalFromSession(c, deps);
  }
  if (!principal) return false;
  try {
    await authorize(deps.db, principal, 'read', scope.type, scope.id, deps.clock.now());
    return true;
  } catch (error) {
    if (error instanceof AppError && (error.status === 404 || error.status === 403)) return false;
    throw error;
  }
}
