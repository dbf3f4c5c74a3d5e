import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertLogLines } from '../../src/db/logs.repository.ts';
import { ensureLogPartitions, forgetLogPartitions } from '../../src/services/logs/partitions.ts';
import {
  apiTokenFor,
  as,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * Finding 2 of issue 15: a project id is freed by deletion and anyone may take it next. Alice's
 * project `web` has logs, status history, usage, API statistics, alert state, saved searches, an
 * invitation and a scoped token; she deletes it, Bob creates `web` (and a resource `db1`) in his own
 * organization, and no route of his project may show anything of hers.
 */

const MARK = 'alice-private-7f3a';
const USAGE_VALUE = '987654.321';

/** Every table with a project column, and the column. */
const PROJECT_TABLES = [
  ['logs', 'project_id'],
  ['resource_deployments', 'project_id'],
  ['resource_usage_changes', 'project_id'],
  ['usage_events', 'project_id'],
  ['usage_minutely', 'project_id'],
  ['usage_hourly', 'project_id'],
  ['usage_dirty_hours', 'project_id'],
  ['api_usage_minutes', 'project_id'],
  ['alert_rules', 'project_id'],
  ['alert_channels', 'project_id'],
  ['alert_events', 'project_id'],
  ['alert_deliveries', 'project_id'],
  ['alert_silences', 'project_id'],
  ['saved_log_searches', 'project_id'],
  ['notifications', 'project_id'],
  ['ingest_tokens', 'project_id'],
  ['resource_drafts', 'project_id'],
  ['resources', 'project_id'],
  ['invitations', 'scope_id'],
  ['role_assignments', 'scope_id'],
] as const;

async function rowsOf(t: TestContext, projectId: string) {
  const snapshot: Record<string, unknown[]> = {};
  for (const [table, column] of PROJECT_TABLES) {
    const { rows } = await sql<Record<string, unknown>>`
      SELECT * FROM ${sql.table(`ktrlplane.${table}`)} WHERE ${sql.ref(column)} = ${projectId}
      ORDER BY 1`.execute(t.database.db);
    snapshot[table] = rows;
  }
  return snapshot;
}

describe('tenant data lifecycle: a freed project id carries nothing of its last owner', () => {
  const t = useTestApp();

  async function alicesProject() {
    const alice = await signUpUser(t, 'alice@example.com');
    await createOrgFor(t, alice, 'Alice Org', 'org-a');
    await createProjectFor(t, alice, 'org-a', 'Web', 'web');
    await createResourceRow(t, 'web', 'db1');
    const token = await apiTokenFor(t, alice);
    const api = (method: string, path: string, json?: unknown) =>
      t.app.request(`/api/v1/projects/web${path}`, {
        method,
        headers: bearer(token),
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    const db = t.database.db;
    const now = t.clock.now();
    const lines = Array.from({ length: 3 }, (_, index) => ({
      retention_days: 7,
      ts: new Date(now.getTime() - index * 60_000),
      received_at: now,
      project_id: 'web',
      resource_id: 'db1',
      level: 'error' as const,
      message: `${MARK} log line ${index}`,
      attributes: { secret: MARK },
      source: 'otlp' as const,
    }));
    forgetLogPartitions(db);
    await ensureLogPartitions(db, lines);
    await insertLogLines(db, lines);
    await db
      .insertInto('ktrlplane.resource_deployments')
      .values({
        resource_id: 'db1',
        project_id: 'web',
        status: 'Degraded',
        message: `${MARK} status`,
        generation: 1,
        deployment_state: 'deployed',
        at: new Date(now.getTime() - 10 * 60_000),
      } as never)
      .execute();
    await db
      .insertInto('ktrlplane.resource_usage_changes')
      .values({
        resource_id: 'db1',
        project_id: 'web',
        type: 'Konnektr.DigitalTwins',
        sku: 'standard',
        status: 'Healthy',
        deployment_state: 'deployed',
        instances: 3,
        at: new Date(now.getTime() - 3_600_000),
      } as never)
      .execute();
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 3_600_000);
    await db
      .insertInto('ktrlplane.usage_events')
      .values({
        org_id: 'org-a',
        event_id: 'alice-event',
        project_id: 'web',
        resource_id: 'db1',
        metric: 'api_calls',
        occurred_at: hour,
        value: USAGE_VALUE,
        attributes: JSON.stringify({}),
        payload_hash: 'x',
        received_at: now,
      } as never)
      .execute();
    await sql`
      INSERT INTO ktrlplane.usage_hourly
        (scope_type, scope_id, metric, resource_id, hour, org_id, project_id, resource_type, sku, quantity, updated_at)
      VALUES ('organization', 'org-a', 'api_calls', 'db1', ${hour}, 'org-a', 'web',
              'Konnektr.DigitalTwins', 'standard', ${USAGE_VALUE}, ${now})`.execute(db);
    await sql`
      INSERT INTO ktrlplane.usage_minutely
        (scope_type, scope_id, metric, resource_id, minute, org_id, project_id, resource_type, sku, quantity)
      VALUES ('organization', 'org-a', 'api_calls', 'db1', ${hour}, 'org-a', 'web',
              'Konnektr.DigitalTwins', 'standard', ${USAGE_VALUE})`.execute(db);
    await sql`
      INSERT INTO ktrlplane.usage_dirty_hours (org_id, project_id, resource_id, metric, hour)
      VALUES ('org-a', 'web', 'db1', 'api_calls', ${hour})`.execute(db);
    await sql`
      INSERT INTO ktrlplane.api_usage_minutes
        (org_id, project_id, token_id, minute, requests, client_errors, server_errors, duration_ms_sum, duration_buckets)
      VALUES ('org-a', 'web', '', ${hour}, 987654, 0, 0, 1, ARRAY[987654]::integer[])`.execute(db);
    const search = await api('POST', '/saved-searches', { name: `${MARK} search`, query: 'level:error' });
    expect(search.status).toBe(201);
    const rule = await api('POST', '/alerts', {
      name: `${MARK} rule`,
      kind: 'status',
      status: 'Degraded',
      resource_id: 'db1',
      comparator: '>',
      threshold: 0,
      window_minutes: 60,
      for_minutes: 0,
      severity: 'critical',
      labels: { owner: MARK },
      channel_ids: [],
    });
    expect(rule.status).toBe(201);
    await db
      .updateTable('ktrlplane.alert_rules')
      .set({ state: 'firing', last_error: `${MARK} rule state` } as never)
      .execute();
    await db
      .insertInto('ktrlplane.notifications')
      .values({
        user_id: alice.userId,
        org_id: 'org-a',
        project_id: 'web',
        kind: 'test',
        title: `${MARK} notification`,
        body: MARK,
        link: '/projects/web',
        dedupe_key: 'alice',
        created_at: now,
      } as never)
      .execute();
    const role = await db.selectFrom('ktrlplane.roles').select('role_id').executeTakeFirstOrThrow();
    await db
      .insertInto('ktrlplane.invitations')
      .values({
        invitation_id: 'inv-alice',
        token_hash: 'alice-invitation-hash',
        email: `${MARK}@example.com`,
        role_id: role.role_id,
        scope_type: 'project',
        scope_id: 'web',
        org_id: 'org-a',
        created_at: now,
        expires_at: new Date(now.getTime() + 86_400_000),
      } as never)
      .execute();
    const scoped = await apiTokenFor(t, alice, { scopeType: 'project', scopeId: 'web' });
    return { alice, api, scoped };
  }

  it('refused requests of another tenant change none of her rows', async () => {
    await alicesProject();
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, bob, 'Bob Org', 'org-b');
    const bobToken = await apiTokenFor(t, bob);
    const before = await rowsOf(t, 'web');
    expect(before.logs).toHaveLength(3);
    for (const [method, path, body] of [
      ['DELETE', '/api/v1/projects/web', { confirm: 'Web' }],
      ['PATCH', '/api/v1/projects/web', { name: 'Taken' }],
      ['POST', '/api/v1/projects/web/saved-searches', { name: 'x', query: 'level:error' }],
      ['DELETE', '/api/v1/projects/web/resources/db1', undefined],
      ['POST', '/api/v1/projects/web/alerts', { name: 'x' }],
    ] as const) {
      const res = await t.app.request(path, {
        method,
        headers: bearer(bobToken),
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(await rowsOf(t, 'web')).toEqual(before);
  });

  it('deletes or detaches every row of a deleted project; its re-creator sees none of them', async () => {
    const { api, scoped } = await alicesProject();
    const deleted = await api('DELETE', '', { confirm: 'Web' });
    expect(deleted.status).toBe(204);

    // Nothing is left under the freed id …
    const left = await rowsOf(t, 'web');
    for (const [table, rows] of Object.entries(left)) expect(rows, table).toEqual([]);
    // … the money data is kept, detached from it …
    const usage = await t.database.db
      .selectFrom('ktrlplane.usage_events')
      .select(['project_id', 'resource_id', 'value'])
      .execute();
    expect(usage).toHaveLength(1);
    expect(usage[0]?.project_id).toMatch(/^web~deleted~/);
    expect(usage[0]?.resource_id).toBe('db1');
    expect(Number(usage[0]?.value)).toBe(Number(USAGE_VALUE));
    const hourly = await t.database.db
      .selectFrom('ktrlplane.usage_hourly')
      .select(['project_id', 'scope_id'])
      .execute();
    expect(hourly).toEqual([{ project_id: expect.stringMatching(/^web~deleted~/), scope_id: 'org-a' }]);
    // … and the scoped token is dead.
    expect((await t.app.request('/api/v1/projects/web', { headers: bearer(scoped) })).status).toBe(401);

    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, bob, 'Bob Org', 'org-b');
    await createProjectFor(t, bob, 'org-b', 'Web', 'web');
    await createResourceRow(t, 'web', 'db1');
    const bobToken = await apiTokenFor(t, bob);

    const values: Record<string, string> = { projectId: 'web', resourceId: 'db1', orgId: 'org-b' };
    const seen = new Set<string>();
    const checked: string[] = [];
    const leaks: string[] = [];
    for (const route of t.app.routes) {
      if (route.method !== 'GET' || !/^(\/api\/v1)?\/projects\/:projectId/.test(route.path)) continue;
      if (seen.has(route.path)) continue;
      seen.add(route.path);
      let missing = false;
      const url = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
        const value = values[name];
        if (!value) missing = true;
        return value ?? '';
      });
      if (missing || url.includes('*')) continue;
      const attempts: Array<Record<string, string>> = url.startsWith('/api/v1')
        ? [bearer(bobToken)]
        : [
            as(bob, { Accept: 'application/json' }),
            as(bob, { Accept: 'text/html' }),
            as(bob, { 'HX-Request': 'true' }),
          ];
      for (const headers of attempts) {
        // Event streams never end: their first chunk is what a reader gets at once.
        const res = await t.app.request(url, { headers, signal: AbortSignal.timeout(5000) });
        let text: string;
        if (res.headers.get('Content-Type')?.includes('text/event-stream')) {
          const reader = res.body?.getReader();
          const chunk = await Promise.race([
            reader?.read(),
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500)),
          ]);
          await reader?.cancel();
          text = new TextDecoder().decode(chunk?.value ?? new Uint8Array());
        } else {
          text = await res.text();
        }
        checked.push(`${url} ${res.status}`);
        if (res.status >= 500) leaks.push(`${url}: ${res.status}`);
        if (text.includes(MARK) || text.includes('987654'))
          leaks.push(`${url} (${headers.Accept ?? 'htmx'}) shows her data`);
      }
    }
    expect(checked.length).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
  }, 120_000);
});
