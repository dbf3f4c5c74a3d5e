import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  apiTokenFor,
  as,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Tenant isolation over every route of the app: for each route with an id in its path, tenant B
 * (signed in, owning an organization of its own) asks for tenant A's object and must get 404 as
 * JSON, as an htmx fragment and as a page — and through /api/v1 with a bearer token. The route
 * list comes from the app itself, so a new route without a case here fails this test.
 */

/** Routes with ids that are not tenant objects, and why. */
const EXEMPT: Record<string, string> = {
  'GET /resource-types/:type':
    'the product catalogue (the same for every tenant); no tenant data behind the id',
  'GET /invitations/:token':
    'public landing page of an invitation link; the token is the secret, unknown tokens answer 404 (tested in invitations.test.ts)',
  'GET /auth/verify-email/:token':
    'public page of an email-verification link; the token is the secret, unknown tokens answer 400 (tested in email-verification.test.ts)',
  'POST /auth/verify-email/:token':
    'confirms an email-verification link; the token is the secret and names its own account (tested in email-verification.test.ts)',
};

const METHODS = new Set(['GET', 'POST', 'PATCH', 'PUT', 'DELETE']);

/** Query strings a readable route needs to answer 200 to its owner. */
const OWNER_QUERY: Record<string, string> = {
  'GET /projects/:projectId/resources/new/configure': '?type=Konnektr.Flows&sku=free&name=Flow',
  'GET /projects/:projectId/resources/new/review': '?draft=draft-new',
  'GET /projects/:projectId/resources/:resourceId/settings/review': '?draft=draft-edit',
  // Event streams run until the client hangs up; once=1 sends what is stored and ends.
  'GET /projects/:projectId/events': '?once=1',
  'GET /projects/:projectId/resources/:resourceId/events': '?once=1',
  // The context of a line names the line by its cursor (time_kind_id).
  'GET /projects/:projectId/logs/context': '?line=1795780800000_1_1',
  'GET /projects/:projectId/resources/:resourceId/logs/context': '?line=1795780800000_1_1',
};

/** Readable routes that answer the owner something else than 200 here, and why. */
const OWNER_STATUS: Record<string, number> = {
  // A plan-change preview asks Stripe; billing is off in this test (tested in billing.test.ts).
  'GET /organizations/:orgId/billing/change': 409,
  'GET /projects/:projectId/billing/change': 409,
};

describe('cross-tenant isolation', () => {
  const t = useTestApp();

  async function world() {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'org-a');
    await createProjectFor(t, ada, 'org-a', 'Web', 'proj-a');
    await createResourceRow(t, 'proj-a', 'res-a');
    await createOrgFor(t, bob, 'Bobs', 'org-b');
    const assignment = await t.database.db
      .selectFrom('ktrlplane.role_assignments')
      .select('assignment_id')
      .where('scope_id', '=', 'org-a')
      .executeTakeFirstOrThrow();
    const adaToken = await apiTokenFor(t, ada);
    const tokenRow = await t.database.db
      .selectFrom('ktrlplane.api_tokens')
      .select('token_id')
      .where('user_id', '=', ada.userId)
      .executeTakeFirstOrThrow();
    const invitation = await t.database.db
      .insertInto('ktrlplane.invitations')
      .values({
        token_hash: 'not-a-real-token-hash',
        email: 'carol@example.com',
        role_id: ROLE.viewer,
        scope_type: 'organization',
        scope_id: 'org-a',
        org_id: 'org-a',
        assignment_expires_at: null,
        invited_by: ada.userId,
        created_at: t.clock.now(),
        expires_at: new Date(t.clock.now().getTime() + 86_400_000),
      })
      .returning('invitation_id')
      .executeTakeFirstOrThrow();
    // Ada's drafts under review: a create in proj-a and an edit of res-a.
    for (const [draftId, resourceId, settings] of [
      ['draft-new', null, { replicas: 1 }],
      ['draft-edit', 'res-a', { instances: 1 }],
    ] as const) {
      await t.database.db
        .insertInto('ktrlplane.resource_drafts')
        .values({
          draft_id: draftId,
          user_id: ada.userId,
          project_id: 'proj-a',
          resource_id: resourceId,
          basics: JSON.stringify({ type: 'Konnektr.Flows', sku: 'free', name: 'Flow', resource_id: '' }),
          settings_json: JSON.stringify(settings),
          base_generation: null,
          created_at: t.clock.now(),
          expires_at: new Date(t.clock.now().getTime() + 86_400_000),
        })
        .execute();
    }
    // Ada's alerting: a rule, a channel and a silence in proj-a.
    const rule = await t.database.db
      .insertInto('ktrlplane.alert_rules')
      .values({
        project_id: 'proj-a',
        name: 'degraded',
        kind: 'status',
        params: JSON.stringify({ status: 'Degraded' }),
        comparator: '>',
        threshold: 0,
        window_seconds: 300,
        for_seconds: 0,
        severity: 'warning',
        labels: '{}',
        runbook_url: null,
        channel_ids: '[]',
        created_by: ada.userId,
        created_at: t.clock.now(),
        updated_at: t.clock.now(),
      })
      .returning('rule_id')
      .executeTakeFirstOrThrow();
    const channel = await t.database.db
      .insertInto('ktrlplane.alert_channels')
      .values({
        project_id: 'proj-a',
        name: 'ops',
        kind: 'in_app',
        target: null,
        signing_secret: null,
        created_at: t.clock.now(),
      })
      .returning('channel_id')
      .executeTakeFirstOrThrow();
    const silence = await t.database.db
      .insertInto('ktrlplane.alert_silences')
      .values({
        project_id: 'proj-a',
        rule_id: null,
        comment: 'maintenance',
        created_by: ada.userId,
        starts_at: t.clock.now(),
        ends_at: new Date(t.clock.now().getTime() + 3_600_000),
      })
      .returning('silence_id')
      .executeTakeFirstOrThrow();
    const notification = await t.database.db
      .insertInto('ktrlplane.notifications')
      .values({
        user_id: ada.userId,
        org_id: 'org-a',
        project_id: null,
        kind: 'test',
        title: 'For Ada',
        body: 'Only Ada may see or mark this.',
        link: '/organizations/org-a',
        dedupe_key: 'cross-tenant',
        created_at: t.clock.now(),
      })
      .returning('notification_id')
      .executeTakeFirstOrThrow();
    // A log ingest token and a saved log search of proj-a.
    const ingestToken = await t.database.db
      .insertInto('ktrlplane.ingest_tokens')
      .values({
        token_id: 'itk-crosstenant',
        project_id: 'proj-a',
        name: 'collector',
        token_hash: 'not-a-real-ingest-token-hash',
        created_by: ada.userId,
        created_at: t.clock.now(),
        last_used_at: null,
        revoked_at: null,
      })
      .returning('token_id')
      .executeTakeFirstOrThrow();
    const savedSearch = await t.database.db
      .insertInto('ktrlplane.saved_log_searches')
      .values({
        search_id: 'lss-crosstenant',
        project_id: 'proj-a',
        resource_id: 'res-a',
        name: 'Errors',
        query: 'level:error',
        time_range: '1h',
        created_by: ada.userId,
        created_at: t.clock.now(),
        updated_at: t.clock.now(),
      })
      .returning('search_id')
      .executeTakeFirstOrThrow();
    const values: Record<string, string> = {
      ingestTokenId: ingestToken.token_id,
      searchId: savedSearch.search_id,
      ruleId: rule.rule_id,
      channelId: channel.channel_id,
      silenceId: silence.silence_id,
      orgId: 'org-a',
      projectId: 'proj-a',
      resourceId: 'res-a',
      assignmentId: assignment.assignment_id,
      invitationId: invitation.invitation_id,
      tokenId: tokenRow.token_id,
      notificationId: notification.notification_id,
    };
    return { ada, bob, adaToken, bobToken: await apiTokenFor(t, bob), values };
  }

  function routesWithIds(): Array<{ method: string; path: string }> {
    const seen = new Map<string, { method: string; path: string }>();
    for (const route of t.app.routes) {
      if (!METHODS.has(route.method) || !route.path.includes('/:')) continue;
      seen.set(`${route.method} ${route.path}`, { method: route.method, path: route.path });
    }
    return [...seen.values()];
  }

  function fill(path: string, values: Record<string, string>): string | null {
    let missing = false;
    const filled = path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
      const value = values[name];
      if (!value) missing = true;
      return value ?? '';
    });
    return missing ? null : filled;
  }

  it('answers 404 to another tenant on every route with an id, in JSON, fragment and page form', async () => {
    const { bob, bobToken, values } = await world();
    const routes = routesWithIds();
    expect(routes.length).toBeGreaterThan(10);
    const uncovered: string[] = [];
    const leaks: string[] = [];
    for (const { method, path } of routes) {
      const key = `${method} ${path.replace(/^\/api\/v1/, '')}`;
      if (EXEMPT[key]) continue;
      const url = fill(path, values);
      if (!url) {
        uncovered.push(key);
        continue;
      }
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      const attempts: Array<[string, Record<string, string>]> = path.startsWith('/api/v1')
        ? [['bearer JSON', bearer(bobToken)]]
        : [
            ['JSON', as(bob, { Accept: 'application/json', 'Content-Type': 'application/json' })],
            ['fragment', as(bob, { 'HX-Request': 'true', 'Content-Type': 'application/json' })],
            ['page', as(bob, { Accept: 'text/html', 'Content-Type': 'application/json' })],
          ];
      for (const [form, headers] of attempts) {
        const res = await t.app.request(url, { method, headers, ...(body ? { body } : {}) });
        if (res.status !== 404) leaks.push(`${method} ${url} as ${form}: ${res.status}`);
        await res.arrayBuffer();
      }
    }
    expect(uncovered, 'routes with ids that this test cannot fill: add their ids to world()').toEqual([]);
    expect(leaks).toEqual([]);
  });

  it('answers 200 to the owner on every readable route with an id (the other half of each case)', async () => {
    const { ada, adaToken, values } = await world();
    const failures: string[] = [];
    for (const { method, path } of routesWithIds()) {
      const key = `${method} ${path.replace(/^\/api\/v1/, '')}`;
      if (method !== 'GET' || EXEMPT[key]) continue;
      const url = fill(path, values);
      if (!url) continue;
      const headers = path.startsWith('/api/v1')
        ? bearer(adaToken)
        : as(ada as TestUser, { Accept: 'application/json' });
      const res = await t.app.request(`${url}${OWNER_QUERY[key] ?? ''}`, { headers });
      if (res.status !== (OWNER_STATUS[key] ?? 200)) failures.push(`${method} ${url}: ${res.status}`);
      await res.arrayBuffer();
    }
    expect(failures).toEqual([]);
  });

  // Routes without an id in the path that still take tenant ids in the body.
  it('answers 404 per event when another tenant reports usage for A’s resource, storing nothing', async () => {
    const { adaToken, bobToken } = await world();
    const events = [
      { id: 'e1', metric: 'graph_queries', resourceId: 'res-a', time: '2026-11-27T11:00:00Z', value: 1 },
    ];
    const res = await t.app.request('/api/v1/usage/events', {
      method: 'POST',
      headers: bearer(bobToken),
      body: JSON.stringify({ events }),
    });
    expect(res.status).toBe(207);
    expect(((await res.json()) as { results: Array<{ status: number }> }).results[0]?.status).toBe(404);
    const stored = await t.database.db.selectFrom('ktrlplane.usage_events').selectAll().execute();
    expect(stored).toEqual([]);
    const own = await t.app.request('/api/v1/usage/events', {
      method: 'POST',
      headers: bearer(adaToken),
      body: JSON.stringify({ events }),
    });
    expect(own.status).toBe(200);
  });
});
