import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import { countLogLines } from '../../src/services/logs/query.ts';
import { authorize } from '../../src/services/rbac.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { useTestApp } from '../helpers/test-app.ts';

type Entry = {
  kind: string;
  level: string;
  message: string;
  resource_id: string;
  cursor: string;
  attributes: Record<string, unknown>;
};

describe('log search, context, saved searches, downloads and live tail', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'api');
    await createResourceRow(t, 'web', 'worker');
    const created = await t.app.request('/projects/web/ingest-tokens', {
      method: 'POST',
      headers: { ...asJson(ada), 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'loki' }),
    });
    const { token } = (await created.json()) as { token: string };
    const api = await apiTokenFor(t, ada);
    return { ada, token, api };
  }

  /** Pushes lines through Loki's API: [seconds ago, resource, level, message, extra labels]. */
  async function push(
    token: string,
    lines: Array<[number, string, string, string, Record<string, string>?]>,
  ) {
    const now = t.clock.now().getTime();
    const res = await t.app.request('/loki/api/v1/push', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        streams: lines.map(([ago, resource, level, message, labels]) => ({
          stream: { resource_id: resource, level, ...(labels ?? {}) },
          values: [[String(BigInt(now - ago * 1000) * 1_000_000n), message]],
        })),
      }),
    });
    expect(res.status).toBe(204);
  }

  async function search(api: string, path: string) {
    const res = await t.app.request(`/api/v1${path}`, { headers: bearer(api) });
    return {
      status: res.status,
      body: (await res.json()) as { entries: Entry[]; next_cursor: string | null; errors?: unknown },
    };
  }

  it('filters by level, text, phrase, attribute ranges and negation, newest first, with status changes in the timeline', async () => {
    const { token, api } = await setup();
    await push(token, [
      [50, 'api', 'info', 'GET /health 200', { status: '200' }],
      [40, 'api', 'error', 'upstream connection refused', { status: '502' }],
      [30, 'api', 'error', 'refused connection to cache', { status: '500' }],
      [20, 'api', 'warn', 'slow request', { status: '404' }],
      [10, 'worker', 'error', 'job failed: connection refused', { status: '503' }],
    ]);
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ status: 'Degraded' })
      .where('resource_id', '=', 'api')
      .execute();
    // The history trigger stamps the database's wall clock; put the events on the test's clock.
    await t.database.db
      .updateTable('ktrlplane.resource_deployments')
      .set({ at: new Date(t.clock.now().getTime() - 15_000) })
      .execute();

    const all = await search(api, '/projects/web/resources/api/logs?range=1h');
    expect(all.status).toBe(200);
    expect(all.body.entries.map((e) => e.kind)).toContain('status');
    expect(all.body.entries.filter((e) => e.kind === 'log').map((e) => e.message)).toEqual([
      'slow request',
      'refused connection to cache',
      'upstream connection refused',
      'GET /health 200',
    ]);
    const statusEntry = all.body.entries.find((e) => e.kind === 'status');
    expect(statusEntry).toMatchObject({ level: 'warn', message: 'Status changed to Degraded' });

    const q = async (query: string) =>
      (
        await search(api, `/projects/web/resources/api/logs?range=1h&q=${encodeURIComponent(query)}`)
      ).body.entries.map((e) => e.message);
    expect(await q('level:error connection')).toEqual([
      'refused connection to cache',
      'upstream connection refused',
    ]);
    expect(await q('"connection refused"')).toEqual(['upstream connection refused']);
    expect(await q('level:error -cache')).toEqual(['upstream connection refused']);
    expect(await q('level:error NOT cache')).toEqual(['upstream connection refused']);
    expect(await q('attr.status:>=500')).toEqual([
      'refused connection to cache',
      'upstream connection refused',
    ]);
    expect(await q('attr.status:404')).toEqual(['slow request']);
    expect(await q('level:>=warn attr.status:<500')).toEqual(['slow request']);
    expect(await q('attr.status:Degraded')).toEqual(['Status changed to Degraded']);
    expect(await q('level:error worker')).toEqual([]);
    // OR, AND and parentheses; AND binds tighter than OR.
    // Status changes are entries too: the Degraded one is a warn.
    expect(await q('level:warn OR cache')).toEqual([
      'Status changed to Degraded',
      'slow request',
      'refused connection to cache',
    ]);
    expect(await q('(cache OR upstream) AND level:error')).toEqual([
      'refused connection to cache',
      'upstream connection refused',
    ]);
    expect(await q('slow OR connection -cache')).toEqual(['slow request', 'upstream connection refused']);
    expect(await q('(slow OR connection) -cache')).toEqual(['slow request', 'upstream connection refused']);
    expect(await q('slow OR (connection -cache) OR attr.status:500')).toEqual([
      'slow request',
      'refused connection to cache',
      'upstream connection refused',
    ]);
    expect(await q('-(level:error OR level:warn) get')).toEqual(['GET /health 200']);

    // Project-wide: every resource of the project, and resource: narrows it.
    const project = await search(api, '/projects/web/logs?range=1h&q=level%3Aerror%20connection');
    expect(project.body.entries.map((e) => `${e.resource_id}:${e.message}`)).toEqual([
      'worker:job failed: connection refused',
      'api:refused connection to cache',
      'api:upstream connection refused',
    ]);
    const narrowed = await search(api, '/projects/web/logs?range=1h&q=resource%3Aworker');
    expect(narrowed.body.entries.every((e) => e.resource_id === 'worker')).toBe(true);

    // Time range: 15m includes these; a custom window before them has nothing.
    const before = await search(
      api,
      `/projects/web/resources/api/logs?from=${new Date(t.clock.now().getTime() - 7200_000).toISOString()}&to=${new Date(t.clock.now().getTime() - 3600_000).toISOString()}`,
    );
    expect(before.body.entries).toEqual([]);
  });

  it('answers 422 pointing at the offending position of a malformed query, in JSON and on the page', async () => {
    const { api, ada } = await setup();
    const res = await t.app.request('/api/v1/projects/web/resources/api/logs?q=level%3Aerror%20%22unclosed', {
      headers: bearer(api),
    });
    expect(res.status).toBe(422);
    const problem = (await res.json()) as {
      position: number;
      errors: Array<{ pointer: string; message: string }>;
    };
    expect(problem.position).toBe(12);
    expect(problem.errors[0]).toMatchObject({ pointer: '/q' });
    for (const [query, position] of [
      ['level:loud', 6],
      ['attr.status:>=abc', 14],
      ['foo:bar', 0],
      ['a - b', 2],
      ['x NOT', 2],
      ['(a OR b', 0],
      ['a OR', 2],
      ['a b)', 3],
      ['AND a', 0],
    ] as const) {
      const r = await t.app.request(`/api/v1/projects/web/logs?q=${encodeURIComponent(query)}`, {
        headers: bearer(api),
      });
      expect(r.status, query).toBe(422);
      expect(((await r.json()) as { position: number }).position, query).toBe(position);
    }
    const page = await t.app.request('/projects/web/resources/api/logs?q=level%3Aloud', { headers: as(ada) });
    expect(page.status).toBe(422);
    const html = await page.text();
    expect(html).toContain('unknown level');
    expect(html).toContain('      ^');
    const unbalanced = await t.app.request(
      `/projects/web/resources/api/logs?q=${encodeURIComponent('(a OR b')}`,
      {
        headers: as(ada),
      },
    );
    expect(unbalanced.status).toBe(422);
    expect(await unbalanced.text()).toContain('this &quot;(&quot; is never closed');
  });

  it('pages by cursor without gaps or repeats, and shows the context around a line', async () => {
    const { token, api } = await setup();
    await push(
      token,
      Array.from(
        { length: 25 },
        (_, i) => [100 - i, 'api', 'info', `line ${i}`] as [number, string, string, string],
      ),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await search(
        api,
        `/projects/web/resources/api/logs?range=1h&limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      // The resource's creation (a status change) is in the timeline too; count the lines.
      seen.push(...page.body.entries.filter((e) => e.kind === 'log').map((e) => e.message));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `line ${24 - i}`));
    const bad = await t.app.request('/api/v1/projects/web/resources/api/logs?cursor=nope', {
      headers: bearer(api),
    });
    expect(bad.status).toBe(422);

    const page = await search(api, '/projects/web/resources/api/logs?range=1h&q=%2212%22');
    const line = page.body.entries[0] as Entry;
    expect(line.message).toBe('line 12');
    const res = await t.app.request(
      `/api/v1/projects/web/resources/api/logs/context?line=${line.cursor}&size=3`,
      {
        headers: bearer(api),
      },
    );
    const context = (await res.json()) as { line: Entry; before: Entry[]; after: Entry[] };
    expect(context.line.message).toBe('line 12');
    expect(context.before.map((e) => e.message)).toEqual(['line 9', 'line 10', 'line 11']);
    expect(context.after.map((e) => e.message)).toEqual(['line 13', 'line 14', 'line 15']);
  });

  it('downloads every match as NDJSON and as CSV (formula-safe)', async () => {
    const { token, api } = await setup();
    await push(token, [
      [20, 'api', 'error', '=HYPERLINK("x") "quoted"'],
      [10, 'api', 'info', 'plain'],
    ]);
    const ndjson = await t.app.request('/api/v1/projects/web/resources/api/logs?range=1h&format=ndjson', {
      headers: bearer(api),
    });
    expect(ndjson.headers.get('Content-Type')).toMatch(/^application\/x-ndjson/);
    const lines = (await ndjson.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Entry);
    expect(lines.filter((l) => l.kind === 'log').map((l) => l.message)).toEqual([
      'plain',
      '=HYPERLINK("x") "quoted"',
    ]);
    const csv = await t.app.request('/projects/web/resources/api/logs?range=1h&q=level%3Aerror', {
      headers: { ...bearer(api), Accept: 'text/csv' },
    });
    expect(csv.headers.get('Content-Disposition')).toMatch(/attachment; filename="logs-api-.*\.csv"/);
    const text = await csv.text();
    expect(text.split('\r\n')[0]).toBe('time,kind,resource_id,level,message,attributes');
    expect(text).toContain(`"'=HYPERLINK(""x"") ""quoted"""`);
    expect(text).not.toContain('plain');
  });

  it('saves, lists, changes and deletes searches; checks the query and the resource', async () => {
    const { api } = await setup();
    const call = (method: string, path: string, body?: unknown) =>
      t.app.request(`/api/v1/projects/web/saved-searches${path}`, {
        method,
        headers: { ...bearer(api), 'Content-Type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const created = await call('POST', '', {
      name: 'Errors',
      query: 'level:error',
      time_range: '24h',
      resource_id: 'api',
    });
    expect(created.status).toBe(201);
    const search = (await created.json()) as { search_id: string };
    expect((await call('POST', '', { name: 'Errors', query: 'x' })).status).toBe(409);
    const bad = await call('POST', '', { name: 'Bad', query: 'level:loud' });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: Array<{ pointer: string }> }).errors[0]?.pointer).toBe('/query');
    expect((await call('POST', '', { name: 'Foreign', query: '', resource_id: 'shop-db' })).status).toBe(422);
    const changed = await call('PATCH', `/${search.search_id}`, {
      name: 'Errors',
      query: 'level:>=warn',
      time_range: '1h',
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ query: 'level:>=warn', resource_id: null });
    const list = (await (await call('GET', '')).json()) as { saved_searches: Array<{ name: string }> };
    expect(list.saved_searches.map((s) => s.name)).toEqual(['Errors']);
    expect((await call('DELETE', `/${search.search_id}`)).status).toBe(204);
    expect((await call('DELETE', `/${search.search_id}`)).status).toBe(404);
  });

  it('counts matching lines per bucket for alert rules (countLogLines)', async () => {
    const { token, ada } = await setup();
    await push(token, [
      [290, 'api', 'error', 'boom'],
      [250, 'api', 'error', 'boom'],
      [100, 'api', 'error', 'boom'],
      [90, 'api', 'info', 'fine'],
      [80, 'worker', 'error', 'boom'],
    ]);
    const scope = await authorize(
      t.database.db,
      {
        userId: ada.userId,
        email: ada.email,
        name: null,
        kind: 'user',
        isPlatformAdmin: false,
        via: 'session',
      },
      'read',
      'project',
      'web',
      t.clock.now(),
    );
    const from = new Date(t.clock.now().getTime() - 300_000);
    const to = new Date(t.clock.now().getTime());
    const counted = await countLogLines(t.database.db, scope, { q: 'level:error', from, to, bucket: 60 });
    expect(counted.total).toBe(4);
    expect(counted.buckets.map((b) => b.count)).toEqual([2, 0, 0, 2, 0]);
    const one = await countLogLines(t.database.db, scope, { resourceId: 'api', q: 'level:error', from, to });
    expect(one).toEqual({ total: 3, buckets: [] });
  });

  it('tails new lines on the resource stream with the filter applied on the server', async () => {
    const { token, ada } = await setup();
    const res = await t.app.request(
      `/projects/web/resources/api/events?logs=1&q=${encodeURIComponent('level:error -ignore')}`,
      { headers: as(ada) },
    );
    expect(res.status).toBe(200);
    const client = new SseClient(res);
    try {
      // Let the hub start before the lines commit.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await push(token, [
        [1, 'api', 'error', 'first error'],
        [1, 'api', 'info', 'not an error'],
        [1, 'api', 'error', 'please ignore'],
        [1, 'worker', 'error', 'other resource'],
      ]);
      await push(token, [[0, 'api', 'error', 'second error']]);
      const logs = () =>
        client.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data).message);
      await client.waitFor(() => logs().length >= 2, 5_000, 'two log lines');
      expect(logs()).toEqual(['first error', 'second error']);
      // Resume after the first: the second comes again, from the table.
      const firstId = JSON.parse(client.events.find((e) => e.event === 'log')?.data ?? '{}').id;
      const resumed = new SseClient(
        await t.app.request(
          `/projects/web/resources/api/events?logs=1&q=level%3Aerror%20-ignore&log_after=${firstId}`,
          {
            headers: as(ada),
          },
        ),
      );
      await resumed.waitFor((c) => c.events.some((e) => e.event === 'log'), 5_000, 'resumed line');
      expect(JSON.parse(resumed.events.find((e) => e.event === 'log')?.data ?? '{}').message).toBe(
        'second error',
      );
      await resumed.close();
    } finally {
      await client.close();
    }
    const bad = await t.app.request('/projects/web/resources/api/events?logs=1&q=%22open', {
      headers: as(ada),
    });
    expect(bad.status).toBe(422);
  });

  it('renders the search page, the tail page and a resource-only reader sees no saved searches', async () => {
    const { token, ada } = await setup();
    await push(token, [[5, 'api', 'error', 'visible <b>escaped</b>']]);
    const page = await t.app.request('/projects/web/resources/api/logs?range=15m', { headers: as(ada) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('visible &lt;b&gt;escaped&lt;/b&gt;');
    expect(html).toContain('Save search');
    expect(html).toContain('Live tail');
    const tail = await t.app.request('/projects/web/resources/api/logs/tail?q=level%3Aerror', {
      headers: as(ada),
    });
    expect(tail.status).toBe(200);
    expect(await tail.text()).toContain('x-data="logTail"');

    const rita = await signUpUser(t, 'rita@example.com');
    await grant(t, rita, ROLE.viewer, 'resource', 'api');
    const ritaPage = await t.app.request('/projects/web/resources/api/logs?range=15m', { headers: as(rita) });
    expect(ritaPage.status).toBe(200);
    expect(await ritaPage.text()).not.toContain('Save search');
    expect((await t.app.request('/projects/web/logs', { headers: as(rita) })).status).toBe(404);
  });
});
