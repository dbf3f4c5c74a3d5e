import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { LISTEN_APPLICATION_NAME } from '../../src/db/notifications.ts';
import { sseConnections } from '../../src/lib/metrics.ts';
import { ROLE } from '../../src/lib/roles.ts';
import {
  DEFAULT_STREAM_OPTIONS,
  PollingEventSource,
  ResourceEventHub,
} from '../../src/services/resource-events.ts';
import {
  apiTokenFor,
  as,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  signUpUser,
} from '../helpers/fixtures.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';
import { usingPostgresServer } from '../helpers/test-database.ts';

/**
 * The SSE streams of resource status: events arrive live (woken by LISTEN on Postgres, by the
 * hub's poll on PGlite), a client that resumes by cursor misses nothing and sees nothing twice,
 * other tenants get 404, revoked access ends the stream, heartbeats flow, and a client that does
 * not read is cut off instead of being buffered for without bound.
 */

const t = useTestApp(
  {},
  { eventStreams: { heartbeatMs: 100, accessRecheckMs: 150, maxBufferedBytes: 16 * 1024 } },
);

async function world() {
  const ada = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, ada, 'Acme', 'org-a');
  await createProjectFor(t, ada, 'org-a', 'Web', 'proj-a');
  await createResourceRow(t, 'proj-a', 'res-a');
  await createResourceRow(t, 'proj-a', 'res-b', 'Konnektr.Flows');
  return { ada };
}

/** What db-query-operator does: a raw status UPDATE, no application code involved. */
async function operatorSets(ctx: TestContext, resourceId: string, status: string): Promise<void> {
  await sql`UPDATE ktrlplane.resources SET status = ${status} WHERE resource_id = ${resourceId}`.execute(
    ctx.database.db,
  );
}

async function eventIdsAfter(ctx: TestContext, after: number, resourceId?: string): Promise<string[]> {
  let query = ctx.database.db
    .selectFrom('ktrlplane.resource_deployments')
    .select('event_id')
    .where('event_id', '>', after)
    .orderBy('event_id');
  if (resourceId) query = query.where('resource_id', '=', resourceId);
  return (await query.execute()).map((row) => String(row.event_id));
}

async function newestEventId(ctx: TestContext): Promise<number> {
  const row = await ctx.database.db
    .selectFrom('ktrlplane.resource_deployments')
    .select((eb) => eb.fn.max('event_id').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** Waits for a condition (on a busy shared server a LISTEN can be refused at first and retried). */
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function open(app: TestContext['app'], url: string, headers: Record<string, string>) {
  return app.request(url, { headers });
}

async function connect(url: string, headers: Record<string, string>, app = t.app): Promise<SseClient> {
  const res = await open(app, url, headers);
  expect(res.status, await peekProblem(res)).toBe(200);
  expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
  return new SseClient(res);
}

async function peekProblem(res: Response): Promise<string> {
  return res.status === 200 ? '' : await res.clone().text();
}

const statusEvents = (client: SseClient) => client.events.filter((event) => event.event === 'status');
const dataOf = (client: SseClient) =>
  statusEvents(client).map((event) => JSON.parse(event.data) as Record<string, unknown>);

describe('resource event streams', () => {
  it('delivers an operator status change to the resource stream and the project stream, as JSON with the deployment summary', async () => {
    const { ada } = await world();
    const resource = await connect('/projects/proj-a/resources/res-a/events', as(ada));
    const project = await connect('/projects/proj-a/events', as(ada));
    await operatorSets(t, 'res-a', 'Progressing');
    await operatorSets(t, 'res-b', 'Healthy');
    await resource.waitForEvents(1);
    await project.waitFor((c) => statusEvents(c).length >= 2);
    const [event] = dataOf(resource);
    expect(event).toMatchObject({
      resource_id: 'res-a',
      project_id: 'proj-a',
      status: 'Progressing',
      deployment: { status: 'Progressing', changes: 'pending', tone: expect.any(String) },
    });
    expect(resource.events[0]?.id).toBe(String(event?.event_id));
    expect(dataOf(project).map((e) => [e.resource_id, e.status])).toEqual([
      ['res-a', 'Progressing'],
      ['res-b', 'Healthy'],
    ]);
    // The resource stream carries only its own resource.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(dataOf(resource).map((e) => e.resource_id)).toEqual(['res-a']);
    await Promise.all([resource.close(), project.close()]);
  });

  it('resumes with Last-Event-ID: what happened while disconnected arrives once, then live events', async () => {
    const { ada } = await world();
    const start = await newestEventId(t);
    const first = await connect(`/projects/proj-a/resources/res-a/events?after=${start}`, as(ada));
    await operatorSets(t, 'res-a', 'Creating');
    await operatorSets(t, 'res-a', 'Progressing');
    await first.waitForEvents(2);
    const lastSeen = first.lastEventId;
    await first.close();

    // While the client is away.
    await operatorSets(t, 'res-a', 'Degraded');
    await operatorSets(t, 'res-a', 'Progressing');

    const second = await connect(
      '/projects/proj-a/resources/res-a/events',
      as(ada, { 'Last-Event-ID': lastSeen ?? '' }),
    );
    await second.waitForEvents(2);
    await operatorSets(t, 'res-a', 'Healthy');
    await second.waitForEvents(3);

    const seen = [...first.events, ...second.events].map((event) => event.id);
    expect(seen).toEqual(await eventIdsAfter(t, start, 'res-a'));
    expect(dataOf(second).map((e) => e.status)).toEqual(['Degraded', 'Progressing', 'Healthy']);
    await second.close();
  });

  it('resumes with ?after= across a burst of changes racing the switch from backlog to live, with no gap and no duplicate', async () => {
    const { ada } = await world();
    const start = await newestEventId(t);
    const statuses = ['Creating', 'Progressing', 'Updating', 'Healthy', 'Degraded'];
    let done = false;
    // Changes keep coming while clients disconnect and reconnect mid-way.
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        await operatorSets(t, i % 2 === 0 ? 'res-a' : 'res-b', statuses[i % statuses.length] ?? 'Healthy');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      done = true;
    })();
    const seen: string[] = [];
    let cursor = String(start);
    let rounds = 0;
    while (!done || (await eventIdsAfter(t, Number(cursor))).length > 0) {
      const client = await connect(`/projects/proj-a/events?after=${cursor}`, as(ada));
      await client;
      // Hang up after a few events, or after a moment when the writer has run dry.
      await client.waitFor((c) => c.events.length >= 3, 300).catch(() => {});
      await client.close();
      seen.push(...client.events.map((event) => event.id ?? ''));
      cursor = client.lastEventId ?? cursor;
      rounds += 1;
    }
    await writer;
    expect(rounds).toBeGreaterThan(2);
    expect(seen).toEqual(await eventIdsAfter(t, start));
    expect(seen).toHaveLength(40);
  });

  it('answers 404 to another tenant, before any stream starts', async () => {
    await world();
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, bob, 'Bobs', 'org-b');
    const bobToken = await apiTokenFor(t, bob);
    for (const url of ['/projects/proj-a/resources/res-a/events', '/projects/proj-a/events']) {
      for (const headers of [
        as(bob),
        as(bob, { 'HX-Request': 'true', Accept: 'text/html, text/event-stream' }),
      ]) {
        const res = await open(t.app, `${url}?format=html`, headers);
        expect(res.status).toBe(404);
        expect(res.headers.get('Content-Type')).not.toMatch(/event-stream/);
      }
      const api = await open(t.app, `/api/v1${url}`, bearer(bobToken));
      expect(api.status).toBe(404);
    }
    // A resource reached through another project's path is not there either.
    await createProjectFor(t, bob, 'org-b', 'Other', 'proj-b');
    const ada = await signUpUser(t, 'ada2@example.com');
    const crossPath = await open(t.app, '/projects/proj-b/resources/res-a/events', as(ada));
    expect(crossPath.status).toBe(404);
  });

  it('ends the stream with `revoked` when the role that allowed it is withdrawn', async () => {
    await world();
    const carol = await signUpUser(t, 'carol@example.com');
    const assignment = await grant(t, carol, ROLE.viewer, 'project', 'proj-a');
    const client = await connect('/projects/proj-a/events', as(carol));
    await operatorSets(t, 'res-a', 'Progressing');
    await client.waitForEvents(1);
    await t.database.db
      .deleteFrom('ktrlplane.role_assignments')
      .where('assignment_id', '=', assignment.assignment_id)
      .execute();
    await expect(client.ended).resolves.toBe('end');
    expect(client.events.at(-1)?.event).toBe('revoked');
  });

  it('ends the stream when the API token it was opened with is revoked', async () => {
    const { ada } = await world();
    const token = await apiTokenFor(t, ada);
    const client = await connect('/api/v1/projects/proj-a/resources/res-a/events', bearer(token));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(client.done).toBe(false);
    await t.database.db
      .updateTable('ktrlplane.api_tokens')
      .set({ revoked_at: t.clock.now() })
      .where('user_id', '=', ada.userId)
      .execute();
    await expect(client.ended).resolves.toBe('end');
    expect(client.events.at(-1)?.event).toBe('revoked');
  });

  it('counts open streams in sse_connections', async () => {
    const { ada } = await world();
    const open = async () => (await sseConnections.get()).values[0]?.value ?? 0;
    const before = await open();
    const client = await connect('/projects/proj-a/events', as(ada));
    expect(await open()).toBe(before + 1);
    await client.close();
    await client.ended;
    const deadline = Date.now() + 2_000;
    while ((await open()) !== before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(before);
  });

  it('sends heartbeats while nothing happens', async () => {
    const { ada } = await world();
    const client = await connect('/projects/proj-a/resources/res-a/events', as(ada));
    await client.waitFor(
      (c) => c.comments.filter((line) => line === 'heartbeat').length >= 2,
      2_000,
      'heartbeats',
    );
    expect(client.events).toEqual([]);
    await client.close();
  });

  it('with ?once=1 sends what is stored after the cursor and ends', async () => {
    const { ada } = await world();
    const start = await newestEventId(t);
    await operatorSets(t, 'res-a', 'Progressing');
    await operatorSets(t, 'res-a', 'Healthy');
    const client = await connect(`/projects/proj-a/resources/res-a/events?once=1&after=${start}`, as(ada));
    await expect(client.ended).resolves.toBe('end');
    expect(dataOf(client).map((e) => e.status)).toEqual(['Progressing', 'Healthy']);
    const empty = await connect('/projects/proj-a/events?once=1', as(ada));
    await expect(empty.ended).resolves.toBe('end');
    expect(empty.events).toEqual([]);
  });

  it('refuses a cursor that is not an event id', async () => {
    const { ada } = await world();
    expect(
      (await open(t.app, '/projects/proj-a/events?after=abc', as(ada, { Accept: 'application/json' })))
        .status,
    ).toBe(422);
    expect(
      (
        await open(
          t.app,
          '/projects/proj-a/events',
          as(ada, { 'Last-Event-ID': 'x1', Accept: 'application/json' }),
        )
      ).status,
    ).toBe(400);
  });

  it('sends htmx fragments with ?format=html: the badge, the deployment panel and a timeline entry, swapped by id', async () => {
    const { ada } = await world();
    const headers = as(ada, { 'HX-Request': 'true', Accept: 'text/html, text/event-stream' });
    const resource = await connect('/projects/proj-a/resources/res-a/events?format=html', headers);
    const project = await connect('/projects/proj-a/events?format=html', headers);
    await operatorSets(t, 'res-a', 'Degraded');
    await resource.waitForEvents(1);
    await project.waitForEvents(1);
    const [fragment] = resource.events;
    // Unnamed, so htmx swaps it (named events become DOM events instead).
    expect(fragment?.event).toBeUndefined();
    expect(fragment?.data).toContain('<hx-partial hx-target="#resource-status-res-a" hx-swap="outerHTML">');
    expect(fragment?.data).toContain('<hx-partial hx-target="#deployment-res-a" hx-swap="outerHTML">');
    expect(fragment?.data).toContain('<hx-partial hx-target="#timeline-res-a" hx-swap="afterbegin">');
    expect(fragment?.data).toContain('data-status="Degraded"');
    expect(fragment?.data).toContain('data-tone="warning"');
    // The list gets the whole row: it replaces the row on the page, or is added when the page
    // has none (a resource created since the page loaded).
    const row = project.events[0]?.data ?? '';
    expect(row).toContain(
      '<hx-partial hx-target="#resource-row-res-a" hx-swap="outerHTML"><tr id="resource-row-res-a"',
    );
    expect(row).toContain(
      '<hx-partial hx-target="#resource-rows:not(:has(#resource-row-res-a))" hx-swap="afterbegin"><tr id="resource-row-res-a"',
    );
    expect(row).toContain('id="resource-status-res-a"');
    expect(row).not.toContain('#timeline-');

    // A resource created after the page loaded arrives as a row; a deleted one's row is removed.
    await createResourceRow(t, 'proj-a', 'res-c', 'Konnektr.Flows');
    await project.waitForEvents(2);
    expect(project.events[1]?.data).toContain('hx-target="#resource-rows:not(:has(#resource-row-res-c))"');
    await t.database.db.deleteFrom('ktrlplane.resources').where('resource_id', '=', 'res-c').execute();
    await project.waitForEvents(3);
    expect(project.events[2]?.data).toBe(
      '<hx-partial hx-target="#resource-row-res-c" hx-swap="delete"></hx-partial>',
    );
    await Promise.all([resource.close(), project.close()]);
  });

  it('cuts off a client that does not read, and it resumes by cursor without losing anything', async () => {
    const { ada } = await world();
    const start = await newestEventId(t);
    // Never read: its buffer (16 KiB in this file) fills, then the next burst cuts it off.
    const stalled = await open(t.app, `/projects/proj-a/events?after=${start}`, as(ada));
    expect(stalled.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 120; i++) {
      await operatorSets(t, 'res-a', i % 2 === 0 ? 'Progressing' : 'Healthy');
      if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 60));
    }
    const reader = new SseClient(stalled);
    const outcome = await reader.ended;
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).name).toBe('SlowClientError');
    // Cutting off discards what was queued for it: it has what it read, and resumes from there.
    expect(reader.events.length).toBeLessThan(120);
    const resumed = await connect(
      `/projects/proj-a/events?after=${reader.lastEventId ?? start}&once=1`,
      as(ada),
    );
    await resumed.ended;
    expect([...reader.events, ...resumed.events].map((event) => event.id)).toEqual(
      await eventIdsAfter(t, start),
    );
  });

  it('also works where each stream polls by itself (Workers), resuming by cursor', async () => {
    const { ada } = await world();
    const polling = createApp({
      ...t.deps,
      resourceEvents: new PollingEventSource({ ...DEFAULT_STREAM_OPTIONS, pollIntervalMs: 20 }),
    });
    const start = await newestEventId(t);
    const first = await connect(`/projects/proj-a/resources/res-a/events?after=${start}`, as(ada), polling);
    await operatorSets(t, 'res-a', 'Progressing');
    await first.waitForEvents(1);
    await first.close();
    await operatorSets(t, 'res-a', 'Healthy');
    const second = await connect(
      '/projects/proj-a/resources/res-a/events',
      as(ada, { 'Last-Event-ID': first.lastEventId ?? '' }),
      polling,
    );
    await second.waitForEvents(1);
    await operatorSets(t, 'res-a', 'Degraded');
    await second.waitForEvents(2);
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(
      await eventIdsAfter(t, start, 'res-a'),
    );
    await second.close();
  });

  it('ends every stream it feeds when the hub closes (graceful shutdown)', async () => {
    const { ada } = await world();
    const hub = new ResourceEventHub({ db: t.database.db, logger: t.deps.logger, pollIntervalMs: 25 });
    const app = createApp({ ...t.deps, resourceEvents: hub });
    const clients = await Promise.all([
      connect('/projects/proj-a/events', as(ada), app),
      connect('/projects/proj-a/resources/res-a/events', as(ada), app),
    ]);
    await operatorSets(t, 'res-a', 'Progressing');
    await Promise.all(clients.map((client) => client.waitForEvents(1)));
    expect(hub.stats.subscribers).toBe(2);
    await hub.close();
    await expect(Promise.all(clients.map((client) => client.ended))).resolves.toEqual(['end', 'end']);
    expect(hub.stats.subscribers).toBe(0);
  });

  it.runIf(usingPostgresServer)(
    'listens again after its LISTEN connection is cut, and misses nothing meanwhile',
    async () => {
      const { ada } = await world();
      const client = await connect('/projects/proj-a/resources/res-a/events', as(ada));
      await until(() => t.events.stats.listening, 10_000);
      // An administrator (or a failover) ends the hub's session.
      const cut = await sql<{ terminated: boolean }>`
      SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = ${LISTEN_APPLICATION_NAME}`.execute(
        t.database.db,
      );
      expect(cut.rows).toEqual([{ terminated: true }]);
      await operatorSets(t, 'res-a', 'Progressing');
      // Delivered once the hub has listened again and caught up (its first retry is after 1 s).
      await client.waitForEvents(1, 8_000);
      await until(() => t.events.stats.listening, 10_000);
      await operatorSets(t, 'res-a', 'Healthy');
      await client.waitForEvents(2, 2_000);
      expect(dataOf(client).map((e) => e.status)).toEqual(['Progressing', 'Healthy']);
      await client.close();
    },
  );

  it.runIf(usingPostgresServer)(
    'listens on one connection: the hub is woken by NOTIFY, not by its poll',
    async () => {
      const { ada } = await world();
      const client = await connect('/projects/proj-a/resources/res-a/events', as(ada));
      await until(() => t.events.stats.listening, 10_000);
      // The safety-net poll runs every 10 s: one of its rounds could deliver one of these in time,
      // only notifications can deliver all three.
      const statuses = ['Progressing', 'Degraded', 'Healthy'];
      for (const [index, status] of statuses.entries()) {
        const started = performance.now();
        await operatorSets(t, 'res-a', status);
        await client.waitForEvents(index + 1);
        expect(performance.now() - started).toBeLessThan(1_500);
      }
      await client.close();
    },
  );
});

describe('live status on the resource pages', () => {
  it('connects the resource page to its stream after the newest event shown, with the timeline, the panel and a stuck flag', async () => {
    const { ada } = await world();
    await operatorSets(t, 'res-a', 'Progressing');
    const newest = await newestEventId(t);
    // Far past the stuck threshold (STUCK_AFTER_SECONDS, 15 minutes by default).
    const before = t.clock.now();
    t.clock.set(new Date(Date.now() + 3_600_000));
    const res = await t.app.request('/projects/proj-a/resources/res-a', {
      headers: as(ada, { Accept: 'text/html' }),
    });
    t.clock.set(before);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(
      `hx-sse:connect="/projects/proj-a/resources/res-a/events?format=html&amp;after=${newest}"`,
    );
    expect(html).toContain('hx-sse:close="revoked"');
    expect(html).toMatch(/<script[^>]+src="\/static\/htmx-sse\.test\.js"/);
    expect(html).toMatch(
      /data-testid="deployment-panel"[^>]*data-status="Progressing"[^>]*data-changes="pending"[^>]*data-stuck="true"/,
    );
    expect(html).toContain('<strong>Stuck. </strong>');
    expect(html.match(/data-event-id="/g)).toHaveLength(2);
    expect(html).toContain(`data-event-id="${newest}"`);
  });

  it('connects the resource list to the project stream and highlights Degraded and Missing badges', async () => {
    const { ada } = await world();
    await operatorSets(t, 'res-a', 'Degraded');
    await operatorSets(t, 'res-b', 'Missing');
    const newest = await newestEventId(t);
    const res = await t.app.request('/projects/proj-a/resources', {
      headers: as(ada, { Accept: 'text/html' }),
    });
    const html = await res.text();
    expect(html).toContain(`hx-sse:connect="/projects/proj-a/events?format=html&amp;after=${newest}"`);
    expect(html).toMatch(
      /id="resource-status-res-a"[^>]*>\s*<span[^>]*data-status="Degraded" data-tone="warning"/,
    );
    expect(html).toMatch(
      /id="resource-status-res-b"[^>]*>\s*<span[^>]*data-status="Missing" data-tone="warning"/,
    );
  });
});
