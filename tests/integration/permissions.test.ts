import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  apiTokenFor,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('data-plane endpoints', () => {
  const t = useTestApp();

  async function world() {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    const checker = await signUpUser(t, 'graph-service@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'graph');
    await createResourceRow(t, 'web', 'flows', 'Konnektr.Flows');
    await grant(t, bob, ROLE.graphViewer, 'resource', 'graph');
    await grant(t, checker, ROLE.permissionChecker, 'global', 'global');
    return { ada, bob, checker };
  }

  it('answers the caller’s own permissions on a resource, inherited and direct', async () => {
    const { ada, bob } = await world();
    const adaToken = await apiTokenFor(t, ada);
    const res = await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=graph', {
      headers: bearer(adaToken),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user_id: ada.userId,
      scope_type: 'resource',
      scope_id: 'graph',
      // Ada created the project: Owner and Data Owner on it, as production assigns.
      permissions: [
        'delete',
        'digitaltwins/*',
        'digitaltwins/relationships/*',
        'jobs/*',
        'jobs/deletions/*',
        'jobs/imports/*',
        'manage_access',
        'manage_billing',
        'mcp/*',
        'models/*',
        'query/*',
        'read',
        'usage/report',
        'write',
      ],
    });
    const bobToken = await apiTokenFor(t, bob);
    const bobs = await (
      await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=graph', {
        headers: bearer(bobToken),
      })
    ).json();
    expect(bobs.permissions).toEqual([
      'digitaltwins/read',
      'digitaltwins/relationships/read',
      'jobs/deletions/read',
      'jobs/imports/read',
      'models/read',
      'query/action',
    ]);
    const none = await (
      await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=flows', {
        headers: bearer(bobToken),
      })
    ).json();
    expect(none.permissions).toEqual([]);
    const unknown = await (
      await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=nope', {
        headers: bearer(bobToken),
      })
    ).json();
    expect(unknown.permissions).toEqual([]);
  });

  it('lets only a service account holding the checker role ask on behalf of another user', async () => {
    const { bob, checker, ada } = await world();
    const path = `/api/v1/permissions/check?scopeType=resource&scopeId=graph&userId=${encodeURIComponent(bob.userId)}`;
    // A person's account with the checker role is still not a service account (as in production).
    expect((await t.app.request(path, { headers: bearer(await apiTokenFor(t, checker)) })).status).toBe(403);
    await t.database.db
      .updateTable('ktrlplane.users')
      .set({ kind: 'service' })
      .where('user_id', '=', checker.userId)
      .execute();
    const onBehalf = await t.app.request(path, { headers: bearer(await apiTokenFor(t, checker)) });
    expect(onBehalf.status).toBe(200);
    expect((await onBehalf.json()).user_id).toBe(bob.userId);
    expect((await t.app.request(path, { headers: bearer(await apiTokenFor(t, ada)) })).status).toBe(403);
  });

  it('validates the query and requires a credential', async () => {
    const { ada } = await world();
    const token = await apiTokenFor(t, ada);
    const bad = await t.app.request('/api/v1/permissions/check?scopeType=galaxy', { headers: bearer(token) });
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/scopeType',
      '/scopeId',
    ]);
    expect((await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=graph')).status).toBe(
      401,
    );
  });

  it('lists every readable resource across projects, filtered by type', async () => {
    const { ada, bob } = await world();
    const adaToken = await apiTokenFor(t, ada);
    const { resources: all } = await (
      await t.app.request('/api/v1/resources', { headers: bearer(adaToken) })
    ).json();
    expect(all.map((r: { resource_id: string }) => r.resource_id).sort()).toEqual(['flows', 'graph']);
    const { resources: twins } = await (
      await t.app.request('/api/v1/resources?resource_type=Konnektr.Graph', {
        headers: bearer(adaToken),
      })
    ).json();
    expect(twins).toEqual([
      expect.objectContaining({ resource_id: 'graph', project_id: 'web', settings_json: {} }),
    ]);
    // Bob's data-plane role has no control-plane `read`: he lists nothing.
    const bobToken = await apiTokenFor(t, bob);
    expect(await (await t.app.request('/api/v1/resources', { headers: bearer(bobToken) })).json()).toEqual({
      resources: [],
    });
  });

  it('limits a scoped token to its scope and a read-only token to reading', async () => {
    const { ada } = await world();
    await createOrgFor(t, ada, 'Other', 'other');
    await createProjectFor(t, ada, 'other', 'Elsewhere', 'elsewhere');
    await createResourceRow(t, 'elsewhere', 'far');
    const scoped = await apiTokenFor(t, ada, { scopeType: 'project', scopeId: 'web', access: 'read' });
    const { resources: listed } = await (
      await t.app.request('/api/v1/resources', { headers: bearer(scoped) })
    ).json();
    expect(listed.map((r: { resource_id: string }) => r.resource_id).sort()).toEqual(['flows', 'graph']);
    expect((await t.app.request('/api/v1/projects/elsewhere', { headers: bearer(scoped) })).status).toBe(404);
    expect((await t.app.request('/api/v1/projects/web', { headers: bearer(scoped) })).status).toBe(200);
    const write = await t.app.request('/api/v1/projects/web', {
      method: 'PATCH',
      headers: bearer(scoped),
      body: JSON.stringify({ name: 'X' }),
    });
    expect(write.status).toBe(403);
  });

  it('answers 401 for revoked and expired tokens', async () => {
    const { ada } = await world();
    const revoked = await apiTokenFor(t, ada, { revoked: true });
    const expired = await apiTokenFor(t, ada, { expiresAt: new Date(t.clock.now().getTime() - 1) });
    expect((await t.app.request('/api/v1/organizations', { headers: bearer(revoked) })).status).toBe(401);
    expect((await t.app.request('/api/v1/organizations', { headers: bearer(expired) })).status).toBe(401);
  });
});
