import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  apiTokenFor,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  signUpUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const t = useTestApp();

interface BatchAnswer {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: Array<{ index: number; id: string; status: number; outcome: string; detail?: string }>;
}

function post(token: string, events: unknown[]) {
  return t.app.request('/api/v1/usage/events', {
    method: 'POST',
    headers: bearer(token),
    body: JSON.stringify({ events }),
  });
}

const event = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  metric: 'graph_queries',
  resourceId: 'twin',
  time: '2026-11-27T11:30:00Z',
  value: 5,
  ...overrides,
});

let owner: TestUser;
let token: string;

beforeEach(async () => {
  owner = await signUpUser(t, 'owner@example.com');
  await createOrgFor(t, owner, 'Acme', 'acme');
  await createProjectFor(t, owner, 'acme', 'Web', 'web');
  await createResourceRow(t, 'web', 'twin');
  token = await apiTokenFor(t, owner, { scopeType: 'project', scopeId: 'web' });
});

describe('POST /api/v1/usage/events', () => {
  it('accepts each (org, id) once: a retry is a duplicate, another payload a 409 for that event', async () => {
    const first = await post(token, [event('e1'), event('e2', { value: 7 })]);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ accepted: 2, duplicates: 0, rejected: 0 });

    const again = await post(token, [
      event('e1'),
      event('e2', { value: 8 }),
      event('e3', { attributes: { region: 'eu', shard: 2 } }),
      event('e3', { attributes: { shard: 2, region: 'eu' } }),
      event('e4'),
      event('e4', { value: 1 }),
    ]);
    expect(again.status).toBe(207);
    const body = (await again.json()) as BatchAnswer;
    expect(body.results.map((result) => [result.id, result.status, result.outcome])).toEqual([
      ['e1', 200, 'duplicate'],
      ['e2', 409, 'conflict'],
      ['e3', 201, 'accepted'],
      ['e3', 200, 'duplicate'],
      ['e4', 201, 'accepted'],
      ['e4', 409, 'conflict'],
    ]);
    expect(body).toMatchObject({ accepted: 2, duplicates: 2, rejected: 2 });
    const stored = await t.database.db
      .selectFrom('ktrlplane.usage_events')
      .select(['event_id', 'value'])
      .orderBy('event_id')
      .execute();
    expect(stored.map((row) => [row.event_id, Number(row.value)])).toEqual([
      ['e1', 5],
      ['e2', 7],
      ['e3', 5],
      ['e4', 5],
    ]);
    const dirty = await t.database.db.selectFrom('ktrlplane.usage_dirty_hours').selectAll().execute();
    expect(dirty).toEqual([
      {
        org_id: 'acme',
        project_id: 'web',
        resource_id: 'twin',
        metric: 'graph_queries',
        hour: new Date('2026-11-27T11:00:00Z'),
      },
    ]);
  });

  it('answers concurrent batches with the same ids with one acceptance each', async () => {
    const batch = Array.from({ length: 50 }, (_, index) => event(`c${index}`));
    const answers = await Promise.all([post(token, batch), post(token, batch), post(token, batch)]);
    const bodies = (await Promise.all(answers.map((res) => res.json()))) as BatchAnswer[];
    expect(bodies.reduce((sum, body) => sum + body.accepted, 0)).toBe(50);
    expect(bodies.reduce((sum, body) => sum + body.duplicates, 0)).toBe(100);
  });

  it('rejects malformed batches with 422 and JSON pointers, storing nothing', async () => {
    t.clock.set(new Date('2026-11-27T12:00:00Z'));
    const res = await post(token, [
      event('ok'),
      event('m', { metric: 'nope' }),
      event('b', { metric: 'instance_hours' }),
      event('f', { time: '2026-11-27T12:05:01Z' }),
      event('u', { metric: 'active_users' }),
      event('v', { value: -1 }),
      { id: 'x', metric: 'graph_queries', resourceId: 'twin', time: 'yesterday', value: 1 },
    ]);
    expect(res.status).toBe(422);
    const problem = (await res.json()) as { errors: Array<{ pointer: string; message: string }> };
    const byPointer = Object.fromEntries(problem.errors.map((error) => [error.pointer, error.message]));
    expect(Object.keys(byPointer).sort()).toEqual(['/events/5/value', '/events/6/time']);

    const semantic = await post(token, [
      event('ok'),
      event('m', { metric: 'nope' }),
      event('b', { metric: 'instance_hours' }),
      event('f', { time: '2026-11-27T12:05:01Z' }),
      event('u', { metric: 'active_users' }),
    ]);
    expect(semantic.status).toBe(422);
    const errors = ((await semantic.json()) as { errors: Array<{ pointer: string; message: string }> })
      .errors;
    expect(errors.map((error) => error.pointer)).toEqual([
      '/events/1/metric',
      '/events/2/metric',
      '/events/3/time',
      '/events/4/attributes/user',
    ]);
    expect(errors[0]?.message).toContain(
      'graph_queries, flow_runs, peak_connections, active_users, backup_size_gb',
    );
    // Five minutes ahead exactly is still accepted; late events of any age too.
    const edge = await post(token, [
      event('edge', { time: '2026-11-27T12:05:00Z' }),
      event('old', { time: '2025-01-01T00:00:00Z' }),
    ]);
    expect(edge.status).toBe(200);

    const tooMany = await post(
      token,
      Array.from({ length: 1001 }, (_, index) => event(`n${index}`)),
    );
    expect(tooMany.status).toBe(422);
    expect(((await tooMany.json()) as { errors: Array<{ pointer: string }> }).errors[0]?.pointer).toBe(
      '/events',
    );
    const count = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ktrlplane.usage_events`.execute(
      t.database.db,
    );
    expect(count.rows[0]?.n).toBe(2);
  });

  it('reports for a resource only with usage/report on its project; others are 404 per event', async () => {
    const stranger = await signUpUser(t, 'stranger@example.com');
    await createOrgFor(t, stranger, 'Other', 'other');
    await createProjectFor(t, stranger, 'other', 'Theirs', 'theirs');
    await createResourceRow(t, 'theirs', 'their-twin');
    const res = await post(token, [
      event('mine'),
      event('theirs', { resourceId: 'their-twin' }),
      event('ghost', { resourceId: 'ghost' }),
    ]);
    expect(res.status).toBe(207);
    const body = (await res.json()) as BatchAnswer;
    expect(body.results.map((result) => result.status)).toEqual([201, 404, 404]);

    // A read-only token may see the project but not report.
    const readOnly = await apiTokenFor(t, owner, { access: 'read' });
    const denied = (await (await post(readOnly, [event('ro')])).json()) as BatchAnswer;
    expect(denied.results[0]).toMatchObject({ status: 403, outcome: 'forbidden' });

    // A service account with only the Usage Reporter role on the project may report.
    const reporter = await signUpUser(t, 'reporter@example.com');
    await grant(t, reporter, ROLE.usageReporter, 'project', 'web');
    const reporterToken = await apiTokenFor(t, reporter, { scopeType: 'project', scopeId: 'web' });
    const ok = (await (await post(reporterToken, [event('svc')])).json()) as BatchAnswer;
    expect(ok.results[0]).toMatchObject({ status: 201 });
  });

  it('accepts late events for a deleted resource (its history says where it lived)', async () => {
    await t.database.db.deleteFrom('ktrlplane.resources').where('resource_id', '=', 'twin').execute();
    const res = await post(token, [event('late', { time: '2026-11-20T08:00:00Z' })]);
    expect(res.status).toBe(200);
  });
});

describe('API call counting', () => {
  it('counts /api/v1 calls per org, project, token and minute in memory and writes them in one flush', async () => {
    // Calls of the tests before this one are still in the app's buffer.
    await t.deps.apiUsage?.flush(t.database.db);
    await t.database.db.deleteFrom('ktrlplane.api_usage_minutes').execute();
    await t.database.db.deleteFrom('ktrlplane.usage_dirty_hours').execute();
    t.clock.set(new Date('2026-11-27T12:00:10Z'));
    for (let index = 0; index < 3; index++) {
      expect((await t.app.request('/api/v1/projects/web', { headers: bearer(token) })).status).toBe(200);
    }
    expect((await t.app.request('/api/v1/projects/nope', { headers: bearer(token) })).status).toBe(404);
    await post(token, [event('counted')]);
    const before = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ktrlplane.api_usage_minutes`.execute(t.database.db);
    expect(before.rows[0]?.n).toBe(0);
    expect(await t.deps.apiUsage?.flush(t.database.db)).toBeGreaterThan(0);
    t.clock.set(new Date('2026-11-27T12:01:00Z'));
    await t.app.request('/api/v1/projects/web', { headers: bearer(token) });
    await t.deps.apiUsage?.flush(t.database.db);
    await t.app.request('/api/v1/projects/web', { headers: bearer(token) });
    await t.deps.apiUsage?.flush(t.database.db);
    const rows = await t.database.db
      .selectFrom('ktrlplane.api_usage_minutes')
      .selectAll()
      .orderBy('minute')
      .execute();
    const tokenId = rows[0]?.token_id;
    expect(tokenId).toMatch(/^tok-/);
    expect(
      rows.map((row) => [
        row.org_id,
        row.project_id,
        row.minute.toISOString(),
        row.requests,
        row.client_errors,
      ]),
    ).toEqual([
      ['acme', 'web', '2026-11-27T12:00:00.000Z', 4, 0],
      ['acme', 'web', '2026-11-27T12:01:00.000Z', 2, 0],
    ]);
    expect(rows[0]?.duration_buckets.reduce((a, b) => a + b, 0)).toBe(4);
    expect(rows[1]?.duration_buckets).toHaveLength(12);
    const dirty = await t.database.db
      .selectFrom('ktrlplane.usage_dirty_hours')
      .selectAll()
      .where('metric', '=', 'api_calls')
      .execute();
    expect(dirty).toHaveLength(1);
  });
});
