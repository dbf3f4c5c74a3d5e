import { describe, expect, it } from 'vitest';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * API token limits on every route (issue 15, finding 7): a write needs a read-write token, a scoped
 * token sees and touches only its scope (lists included), and account routes refuse tokens. Each
 * refusal is checked to have changed nothing in the database.
 */

/** The rows a refused request must not touch. */
async function snapshot(t: TestContext) {
  const db = t.database.db;
  return {
    organizations: await db.selectFrom('ktrlplane.organizations').selectAll().orderBy('org_id').execute(),
    assignments: await db
      .selectFrom('ktrlplane.role_assignments')
      .select(['user_id', 'role_id', 'scope_type', 'scope_id'])
      .orderBy('scope_id')
      .orderBy('user_id')
      .execute(),
    passwords: await db.selectFrom('ktrlplane.local_credentials').selectAll().orderBy('user_id').execute(),
    sessions: await db
      .selectFrom('ktrlplane.sessions')
      .select(['session_hash', 'user_id'])
      .orderBy('session_hash')
      .execute(),
    audit: await db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'target_id'])
      .orderBy('event_id')
      .execute(),
  };
}

describe('API token limits', () => {
  const t = useTestApp();

  async function world() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createOrgFor(t, ada, 'Other', 'other');
    await createProjectFor(t, ada, 'acme', 'Prod', 'prod');
    await createProjectFor(t, ada, 'acme', 'Dev', 'dev');
    await createProjectFor(t, ada, 'other', 'Elsewhere', 'elsewhere');
    await createResourceRow(t, 'prod', 'db-prod');
    await createResourceRow(t, 'dev', 'db-dev');
    await createResourceRow(t, 'elsewhere', 'db-elsewhere');
    return {
      ada,
      readOnly: await apiTokenFor(t, ada, { access: 'read' }),
      readWrite: await apiTokenFor(t, ada),
      orgToken: await apiTokenFor(t, ada, { scopeType: 'organization', scopeId: 'acme' }),
      projectToken: await apiTokenFor(t, ada, { scopeType: 'project', scopeId: 'prod' }),
    };
  }

  const createOrg = (secret: string, path = '/api/v1/organizations') =>
    t.app.request(path, {
      method: 'POST',
      headers: bearer(secret),
      body: JSON.stringify({ name: 'Sneaky', org_id: 'sneaky' }),
    });

  it('only a read-write token without a scope creates organizations (403 otherwise, nothing stored)', async () => {
    const { readOnly, orgToken, projectToken, readWrite } = await world();
    const before = await snapshot(t);
    for (const [secret, says] of [
      [readOnly, 'read-only'],
      [orgToken, 'limited to organization "acme"'],
      [projectToken, 'limited to project "prod"'],
    ] as const) {
      for (const path of ['/api/v1/organizations', '/organizations']) {
        const res = await createOrg(secret, path);
        expect(res.status, `${says} ${path}`).toBe(403);
        expect((await res.json()).detail).toContain(says);
      }
    }
    expect(await snapshot(t)).toEqual(before);
    // The other half: the unlimited token may.
    expect((await createOrg(readWrite)).status).toBe(201);
  });

  it('no API token changes the password, and the browser session survives the attempt', async () => {
    const { ada, readOnly, readWrite } = await world();
    const before = await snapshot(t);
    for (const secret of [readOnly, readWrite]) {
      const res = await t.app.request('/account/password', {
        method: 'POST',
        headers: bearer(secret),
        body: JSON.stringify({ current_password: ada.password, new_password: 'a brand new passphrase' }),
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('Content-Type')).toContain('application/problem+json');
      expect((await res.json()).detail).toContain('API tokens cannot manage your account');
      const account = await t.app.request('/account', { headers: bearer(secret) });
      expect(account.status).toBe(403);
    }
    expect(await snapshot(t)).toEqual(before);
    expect(
      (await t.app.request('/account', { headers: as(ada, { Accept: 'application/json' }) })).status,
    ).toBe(200);
    // The owner's own session still changes it.
    const own = await t.app.request('/account/password', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ current_password: ada.password, new_password: 'a brand new passphrase' }),
    });
    expect(own.status).toBe(204);
  });

  async function listed(secret: string) {
    const get = async (path: string) => {
      const res = await t.app.request(path, { headers: bearer(secret) });
      expect(res.status, path).toBe(200);
      return res.json();
    };
    const organizations = (await get('/api/v1/organizations')) as Array<{ org_id: string }>;
    const projects = (await get('/api/v1/projects')) as Array<{ project_id: string }>;
    const { resources } = (await get('/api/v1/resources')) as { resources: Array<{ resource_id: string }> };
    return {
      organizations: organizations.map((org) => org.org_id).sort(),
      projects: projects.map((project) => project.project_id).sort(),
      resources: resources.map((resource) => resource.resource_id).sort(),
    };
  }

  it('a scoped token’s organization, project and resource lists show only its scope', async () => {
    const { readWrite, orgToken, projectToken } = await world();
    expect(await listed(readWrite)).toEqual({
      organizations: ['acme', 'other'],
      projects: ['dev', 'elsewhere', 'prod'],
      resources: ['db-dev', 'db-elsewhere', 'db-prod'],
    });
    expect(await listed(orgToken)).toEqual({
      organizations: ['acme'],
      projects: ['dev', 'prod'],
      resources: ['db-dev', 'db-prod'],
    });
    // A project token sees no organization: it may not read one (GET /organizations/acme is 404).
    expect(await listed(projectToken)).toEqual({
      organizations: [],
      projects: ['prod'],
      resources: ['db-prod'],
    });
    expect(
      (await t.app.request('/api/v1/organizations/acme', { headers: bearer(projectToken) })).status,
    ).toBe(404);
  });

  it('the pages a token could reach list only its scope too', async () => {
    const { projectToken } = await world();
    const res = await t.app.request('/resources/new', {
      headers: { Authorization: `Bearer ${projectToken}` },
    });
    // The token sees one project, so the deep link goes straight to its wizard (with the user's
    // session it would offer a choice of prod and dev).
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/projects/prod/resources/new');
  });
});
