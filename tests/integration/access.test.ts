import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
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
  type TestUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const DAY = 86_400_000;

interface Listing {
  assignment_id: string;
  user_id: string;
  email: string | null;
  role_id: string;
  scope_type: string;
  scope_id: string;
  scope_name: string;
  expires_at: string | null;
  expired: boolean;
}

describe('role assignments at each scope', () => {
  const t = useTestApp();

  /** Acme (owner ada) with project web and resource graph; bob has an account and no role. */
  async function acme() {
    const ada = await signUpUser(t, 'ada@acme.example', 'Ada Owner');
    const bob = await signUpUser(t, 'bob@acme.example', 'Bob Builder');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'graph');
    return { ada, bob };
  }

  async function request(user: TestUser, method: string, path: string, body?: unknown) {
    return t.app.request(path, {
      method,
      headers: asJson(user),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async function listing(user: TestUser, path: string) {
    const res = await request(user, 'GET', path);
    expect(res.status).toBe(200);
    return (await res.json()) as {
      assignments: Listing[];
      inherited: Listing[];
      invitations: Array<{ invitation_id: string; email: string }>;
      roles: Array<{ role_id: string }>;
      can_manage: boolean;
    };
  }

  async function auditActions() {
    const rows = await t.database.db.selectFrom('ktrlplane.audit_events').select('action').execute();
    return rows.map((row) => row.action);
  }

  it('lists direct and inherited assignments with their source, and never offers the hidden role', async () => {
    const { ada, bob } = await acme();
    await grant(t, bob, ROLE.graphViewer, 'resource', 'graph');
    await grant(t, bob, ROLE.editor, 'project', 'web');

    const org = await listing(ada, '/organizations/acme/access');
    expect(org.assignments).toEqual([
      expect.objectContaining({ email: 'ada@acme.example', role_id: ROLE.owner, scope_type: 'organization' }),
    ]);
    expect(org.inherited).toEqual([]);
    expect(org.can_manage).toBe(true);
    const roleIds = org.roles.map((role) => role.role_id);
    expect(roleIds.slice(0, 3)).toEqual([ROLE.owner, ROLE.editor, ROLE.viewer]);
    expect(roleIds).not.toContain(ROLE.permissionChecker);

    const resource = await listing(ada, '/projects/web/resources/graph/access');
    expect(resource.assignments.map((a) => [a.email, a.role_id])).toEqual([
      ['bob@acme.example', ROLE.graphViewer],
    ]);
    // Ada created the project, so she also holds Owner and Data Owner on it (as production assigns).
    expect(resource.inherited.map((a) => [a.email, a.role_id, a.scope_type, a.scope_name])).toEqual([
      ['ada@acme.example', ROLE.owner, 'organization', 'Acme'],
      ['ada@acme.example', ROLE.dataOwner, 'project', 'Web'],
      ['ada@acme.example', ROLE.owner, 'project', 'Web'],
      ['bob@acme.example', ROLE.editor, 'project', 'Web'],
    ]);

    const page = await t.app.request('/projects/web/access', { headers: as(ada) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<!DOCTYPE html>');
    expect(html).toContain('Access to Web');
    expect(html).toContain('Inherited roles');
    expect(html).toContain('id="grant-access"');
    expect(html).toContain('hx-patch="/projects/web/access/');
    expect(html).toContain('hx-delete="/projects/web/access/');
    expect(html).not.toContain(ROLE.permissionChecker);
    expect(html).not.toMatch(/style=|onclick=|hx-on/);

    const fragment = await t.app.request('/projects/web/access', {
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(fragment.status).toBe(200);
    const fragmentHtml = await fragment.text();
    expect(fragmentHtml).not.toContain('<html');
    expect(fragmentHtml).toContain('id="access-page"');
  });

  it('grant Viewer on a project: the grantee reads it, gets 403 on managing, and loses it on revoke', async () => {
    const { ada, bob } = await acme();
    const granted = await request(ada, 'POST', '/projects/web/access', {
      email: 'BOB@acme.example',
      role_id: ROLE.viewer,
    });
    expect(granted.status).toBe(201);
    const { assignment } = (await granted.json()) as { assignment: Listing };
    expect(assignment).toMatchObject({ user_id: bob.userId, role_id: ROLE.viewer, scope_type: 'project' });

    const page = await t.app.request('/projects/web/access', { headers: as(bob) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain('id="grant-access"');
    expect(html).not.toContain('hx-delete=');
    expect((await listing(bob, '/projects/web/access')).can_manage).toBe(false);

    const id = assignment.assignment_id;
    expect(
      (await request(bob, 'POST', '/projects/web/access', { email: 'x@y.example', role_id: ROLE.viewer }))
        .status,
    ).toBe(403);
    expect((await request(bob, 'PATCH', `/projects/web/access/${id}`, { role_id: ROLE.owner })).status).toBe(
      403,
    );
    expect((await request(bob, 'DELETE', `/projects/web/access/${id}`)).status).toBe(403);
    expect((await request(bob, 'GET', '/projects/web/access/candidates?q=a')).status).toBe(403);
    // Reading the project does not reveal the organization's page.
    expect((await request(bob, 'GET', '/organizations/acme/access')).status).toBe(404);

    const revoked = await request(ada, 'DELETE', `/projects/web/access/${id}`);
    expect(revoked.status).toBe(204);
    expect((await request(bob, 'GET', '/projects/web/access')).status).toBe(404);
    expect((await t.app.request('/projects/web/access', { headers: as(bob) })).status).toBe(404);
    expect((await request(ada, 'DELETE', `/projects/web/access/${id}`)).status).toBe(404);
    expect(await auditActions()).toEqual(expect.arrayContaining(['access.granted', 'access.revoked']));
  });

  it('an expired assignment grants nothing and is listed as expired', async () => {
    const { ada, bob } = await acme();
    const tomorrow = new Date(t.clock.now().getTime() + DAY).toISOString().slice(0, 10);
    const res = await request(ada, 'POST', '/projects/web/access', {
      email: bob.email,
      role_id: ROLE.viewer,
      expires_at: tomorrow,
    });
    expect(res.status).toBe(201);
    expect((await res.json()).assignment.expires_at).toBe(`${tomorrow}T00:00:00.000Z`);
    expect((await request(bob, 'GET', '/projects/web/access')).status).toBe(200);

    t.clock.advance(2 * DAY);
    expect((await request(bob, 'GET', '/projects/web/access')).status).toBe(404);
    const list = await listing(ada, '/projects/web/access');
    expect(list.assignments.find((a) => a.user_id === bob.userId)).toMatchObject({ expired: true });

    const past = await request(ada, 'POST', '/projects/web/access', {
      email: bob.email,
      role_id: ROLE.viewer,
      expires_at: '2020-01-01',
    });
    expect(past.status).toBe(422);
    expect((await past.json()).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/expires_at']);
  });

  it('nobody can remove, demote or time-limit the last unexpired Owner of an organization', async () => {
    const { ada, bob } = await acme();
    const [own] = (await listing(ada, '/organizations/acme/access')).assignments;
    const id = own?.assignment_id ?? '';

    for (const [method, body] of [
      ['DELETE', undefined],
      ['PATCH', { role_id: ROLE.viewer }],
      ['PATCH', { expires_at: '2027-01-01' }],
    ] as const) {
      const res = await request(ada, method, `/organizations/acme/access/${id}`, body);
      expect(res.status).toBe(409);
      expect((await res.json()).detail).toContain('last Owner');
    }
    // The htmx revoke gets its row back with the reason, not an error page.
    const htmx = await t.app.request(`/organizations/acme/access/${id}`, {
      method: 'DELETE',
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(htmx.status).toBe(409);
    const row = await htmx.text();
    expect(row).toMatch(/^<tr id="assignment-/);
    expect(row).toContain('last Owner');

    // An expired second Owner does not count.
    await grant(t, bob, ROLE.owner, 'organization', 'acme', new Date(t.clock.now().getTime() - DAY));
    expect((await request(ada, 'DELETE', `/organizations/acme/access/${id}`)).status).toBe(409);

    // With another unexpired Owner, the first may step down.
    await grant(t, bob, ROLE.owner, 'organization', 'acme');
    const demoted = await request(ada, 'PATCH', `/organizations/acme/access/${id}`, { role_id: ROLE.editor });
    expect(demoted.status).toBe(200);
    expect((await demoted.json()).assignment.role_id).toBe(ROLE.editor);
    expect(await auditActions()).toContain('access.changed');
    const [bobsOwner] = (await listing(bob, '/organizations/acme/access')).assignments.filter(
      (a) => a.user_id === bob.userId,
    );
    expect(
      (await request(bob, 'DELETE', `/organizations/acme/access/${bobsOwner?.assignment_id}`)).status,
    ).toBe(409);
  });

  it('changes role and expiry in place, and refuses unknown or hidden roles with 422 on /role_id', async () => {
    const { ada, bob } = await acme();
    const { id } = await grant(t, bob, ROLE.viewer, 'project', 'web').then((a) => ({ id: a.assignment_id }));

    const htmx = await t.app.request(`/projects/web/access/${id}`, {
      method: 'PATCH',
      headers: as(ada, { 'HX-Request': 'true', 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: `role_id=${ROLE.editor}`,
    });
    expect(htmx.status).toBe(200);
    const row = await htmx.text();
    expect(row).toMatch(/^<tr id="assignment-/);
    expect(row).toContain(`<option value="${ROLE.editor}" selected`);

    const expiry = await request(ada, 'PATCH', `/projects/web/access/${id}`, { expires_at: '2027-03-01' });
    expect((await expiry.json()).assignment).toMatchObject({
      role_id: ROLE.editor,
      expires_at: '2027-03-01T00:00:00.000Z',
    });
    const cleared = await request(ada, 'PATCH', `/projects/web/access/${id}`, { expires_at: null });
    expect((await cleared.json()).assignment.expires_at).toBeNull();

    for (const role of ['no-such-role', ROLE.permissionChecker]) {
      const res = await request(ada, 'PATCH', `/projects/web/access/${id}`, { role_id: role });
      expect(res.status).toBe(422);
      expect((await res.json()).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/role_id']);
      const post = await request(ada, 'POST', '/projects/web/access', { email: bob.email, role_id: role });
      expect(post.status).toBe(422);
      expect((await post.json()).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/role_id']);
    }
    expect((await request(ada, 'PATCH', `/projects/web/access/${id}`, {})).status).toBe(422);
  });

  it('touches only assignments of the scope in the path', async () => {
    const { ada, bob } = await acme();
    const onProject = await grant(t, bob, ROLE.viewer, 'project', 'web');
    const id = onProject.assignment_id;
    expect(
      (await request(ada, 'PATCH', `/organizations/acme/access/${id}`, { role_id: ROLE.editor })).status,
    ).toBe(404);
    expect((await request(ada, 'DELETE', `/organizations/acme/access/${id}`)).status).toBe(404);
    expect((await request(ada, 'DELETE', `/projects/web/resources/graph/access/${id}`)).status).toBe(404);
    expect(
      (await request(ada, 'DELETE', '/projects/web/access/00000000-0000-4000-8000-000000000000')).status,
    ).toBe(404);
    expect((await request(ada, 'DELETE', '/projects/web/access/not-a-uuid')).status).toBe(404);
    const bobs = (await listing(ada, '/projects/web/access')).assignments.filter(
      (a) => a.user_id === bob.userId,
    );
    expect(bobs.map((a) => a.assignment_id)).toEqual([id]);
  });

  it('checks that a resource belongs to the project in its path', async () => {
    const { ada } = await acme();
    await createProjectFor(t, ada, 'acme', 'Other', 'other');
    expect((await request(ada, 'GET', '/projects/web/resources/graph/access')).status).toBe(200);
    expect((await request(ada, 'GET', '/projects/other/resources/graph/access')).status).toBe(404);
    expect(
      (
        await request(ada, 'POST', '/projects/other/resources/graph/access', {
          email: 'a@b.example',
          role_id: ROLE.viewer,
        })
      ).status,
    ).toBe(404);
  });

  it('grants by user id only to members of the organization', async () => {
    const { ada, bob } = await acme();
    const stranger = await signUpUser(t, 'stranger@elsewhere.example');
    expect(
      (
        await request(ada, 'POST', '/organizations/acme/access', {
          user_id: bob.userId,
          role_id: ROLE.viewer,
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await request(ada, 'POST', '/organizations/acme/access', {
          user_id: 'local|nobody',
          role_id: ROLE.viewer,
        })
      ).status,
    ).toBe(404);
    await grant(t, bob, ROLE.graphViewer, 'resource', 'graph');
    const res = await request(ada, 'POST', '/organizations/acme/access', {
      user_id: bob.userId,
      role_id: ROLE.editor,
    });
    expect(res.status).toBe(201);
    expect((await res.json()).assignment).toMatchObject({ user_id: bob.userId, scope_type: 'organization' });
    expect(
      (
        await request(ada, 'POST', '/organizations/acme/access', {
          user_id: stranger.userId,
          role_id: ROLE.viewer,
        })
      ).status,
    ).toBe(404);
    const both = await request(ada, 'POST', '/organizations/acme/access', {
      user_id: bob.userId,
      email: bob.email,
      role_id: ROLE.viewer,
    });
    expect(both.status).toBe(422);
  });

  it('user search finds members by part of their email or name, and a colleague of another organization only by exact email', async () => {
    const { ada, bob } = await acme();
    await grant(t, bob, ROLE.viewer, 'project', 'web');
    const outsider = await signUpUser(t, 'carol@other.example', 'Carol Outsider');
    // Carol and Ada work together in another organization, so Ada may find her by her address.
    await createOrgFor(t, outsider, 'Other', 'other');
    await grant(t, ada, ROLE.viewer, 'organization', 'other');
    const search = async (q: string) => {
      const res = await request(ada, 'GET', `/projects/web/access/candidates?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { candidates: Array<{ email: string; member: boolean }> }).candidates;
    };
    expect((await search('build')).map((c) => c.email)).toEqual(['bob@acme.example']);
    expect((await search('')).map((c) => c.email)).toEqual(['ada@acme.example', 'bob@acme.example']);
    expect(await search('carol')).toEqual([]);
    expect(await search('other.example')).toEqual([]);
    expect(await search('%')).toEqual([]);
    expect(await search('CAROL@other.example')).toEqual([
      { user_id: outsider.userId, email: 'carol@other.example', name: 'Carol Outsider', member: false },
    ]);

    // A stranger (no organization in common with Ada) is not confirmed even by an exact address.
    await signUpUser(t, 'dan@stranger.example', 'Dan Stranger');
    expect(await search('dan@stranger.example')).toEqual([]);
    const danOwnOrg = await signUpUser(t, 'erin@stranger.example', 'Erin Stranger');
    await createOrgFor(t, danOwnOrg, 'Erin Co', 'erin-co');
    expect(await search('erin@stranger.example')).toEqual([]);

    const options = await t.app.request('/projects/web/access/candidates?email=bo', {
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(await options.text()).toBe('<option value="bob@acme.example">Bob Builder</option>');
  });

  it('a browser grant with bad input gets the form again with errors; a good one redirects back', async () => {
    const { ada } = await acme();
    const form = (body: string, headers: Record<string, string> = {}) =>
      t.app.request('/projects/web/access', {
        method: 'POST',
        headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }),
        body,
      });
    const fragment = await form(`email=not-an-email&role_id=${ROLE.viewer}&expires_at=`, {
      'HX-Request': 'true',
    });
    expect(fragment.status).toBe(422);
    const html = await fragment.text();
    expect(html).toMatch(/^<form id="grant-access"/);
    expect(html).toContain('enter an email address');
    expect(html).toContain('value="not-an-email"');

    const unknownRole = await form('email=x@y.example&role_id=nope', { 'HX-Request': 'true' });
    expect(unknownRole.status).toBe(422);
    expect(await unknownRole.text()).toContain('no role &quot;nope&quot; can be granted');

    const page = await form(`email=&role_id=${ROLE.viewer}`);
    expect(page.status).toBe(422);
    const pageHtml = await page.text();
    expect(pageHtml).toContain('<!DOCTYPE html>');
    expect(pageHtml).toContain('Access to Web');

    const ok = await form(`email=bob%40acme.example&role_id=${ROLE.viewer}&expires_at=`);
    expect(ok.status).toBe(303);
    expect(ok.headers.get('Location')).toBe('/projects/web/access');
    const okHtmx = await form(`email=new%40person.example&role_id=${ROLE.viewer}`, { 'HX-Request': 'true' });
    expect(okHtmx.headers.get('HX-Redirect')).toBe('/projects/web/access');
  });

  it("another organization's owner gets 404 on every access route of this one, in JSON, fragment and HTML", async () => {
    const { ada, bob } = await acme();
    const bobsGrant = await grant(t, bob, ROLE.viewer, 'project', 'web');
    const invited = await request(ada, 'POST', '/projects/web/access', {
      email: 'new@person.example',
      role_id: ROLE.viewer,
    });
    const invitationId = ((await invited.json()) as { invitation: { invitation_id: string } }).invitation
      .invitation_id;
    const [adaOwner] = (await listing(ada, '/organizations/acme/access')).assignments;

    const mallory = await signUpUser(t, 'mallory@evil.example');
    await createOrgFor(t, mallory, 'Evil', 'evil');
    await createProjectFor(t, mallory, 'evil', 'Lair', 'lair');

    const routes: Array<[string, string, string | undefined]> = [];
    for (const [base, assignmentId] of [
      ['/organizations/acme', adaOwner?.assignment_id ?? ''],
      ['/projects/web', bobsGrant.assignment_id],
      ['/projects/web/resources/graph', bobsGrant.assignment_id],
    ] as const) {
      routes.push(
        ['GET', `${base}/access`, undefined],
        ['POST', `${base}/access`, `email=m%40evil.example&role_id=${ROLE.owner}`],
        ['GET', `${base}/access/candidates?q=a`, undefined],
        ['PATCH', `${base}/access/${assignmentId}`, `role_id=${ROLE.owner}`],
        ['DELETE', `${base}/access/${assignmentId}`, undefined],
        ['POST', `${base}/access/invitations/${invitationId}/resend`, ''],
        ['DELETE', `${base}/access/invitations/${invitationId}`, undefined],
      );
    }
    // A resource of acme reached through mallory's own project.
    routes.push(['GET', '/projects/lair/resources/graph/access', undefined]);

    const token = await apiTokenFor(t, mallory);
    for (const [method, path, body] of routes) {
      const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
      const variants: Array<[string, Record<string, string>]> = [
        ['json', asJson(mallory)],
        ['fragment', as(mallory, { 'HX-Request': 'true', ...form })],
        ['html', as(mallory, form)],
      ];
      for (const [kind, headers] of variants) {
        const res = await t.app.request(path, {
          method,
          headers,
          ...(body === undefined
            ? {}
            : {
                body: kind === 'json' ? JSON.stringify(Object.fromEntries(new URLSearchParams(body))) : body,
              }),
        });
        expect(res.status, `${kind} ${method} ${path}`).toBe(404);
      }
      const api = await t.app.request(`/api/v1${path}`, {
        method,
        headers: bearer(token),
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(Object.fromEntries(new URLSearchParams(body))) }),
      });
      expect(api.status, `api ${method} ${path}`).toBe(404);
    }
    // The owner gets 200 on the same pages, in every form.
    for (const path of [
      '/organizations/acme/access',
      '/projects/web/access',
      '/projects/web/resources/graph/access',
    ]) {
      expect((await t.app.request(path, { headers: asJson(ada) })).status).toBe(200);
      expect((await t.app.request(path, { headers: as(ada, { 'HX-Request': 'true' }) })).status).toBe(200);
      expect((await t.app.request(path, { headers: as(ada) })).status).toBe(200);
    }
    // Nothing changed: Bob's Viewer, and Ada's Owner and Data Owner from creating the project.
    expect(
      (await listing(ada, '/projects/web/access')).assignments.map((a) => [a.user_id, a.role_id]).sort(),
    ).toEqual(
      [
        [ada.userId, ROLE.dataOwner],
        [ada.userId, ROLE.owner],
        [bob.userId, ROLE.viewer],
      ].sort(),
    );
    expect((await listing(ada, '/projects/web/access')).invitations).toHaveLength(1);
  });

  it('offers data-plane roles with their descriptions, on a resource only those of its type, never hidden ones', async () => {
    const { ada, bob } = await acme();
    await createResourceRow(t, 'web', 'flows', 'Konnektr.Flows');
    type Role = {
      role_id: string;
      display_name: string;
      description: string;
      plane: string;
      resource_types: string[];
    };
    const rolesAt = async (path: string) => (await listing(ada, path)).roles as Role[];

    const project = await rolesAt('/projects/web/access');
    expect(project.map((role) => role.role_id)).toEqual([
      ROLE.owner,
      ROLE.editor,
      ROLE.viewer,
      ROLE.dataOwner,
      ROLE.graphOwner,
      ROLE.graphViewer,
    ]);
    expect(project.find((role) => role.role_id === ROLE.graphViewer)).toEqual({
      role_id: ROLE.graphViewer,
      name: 'Konnektr.Graph.Viewer',
      display_name: 'Graph Viewer',
      description: 'Read-only access to Graph application',
      plane: 'data',
      resource_types: ['Konnektr.Graph'],
    });
    expect(project.find((role) => role.role_id === ROLE.owner)).toMatchObject({
      plane: 'control',
      resource_types: [],
    });
    expect((await rolesAt('/projects/web/resources/graph/access')).map((role) => role.role_id)).toEqual(
      project.map((role) => role.role_id),
    );
    // A flow engine has no data-plane roles (yet): a Graph role is refused there.
    expect((await rolesAt('/projects/web/resources/flows/access')).map((role) => role.role_id)).toEqual([
      ROLE.owner,
      ROLE.editor,
      ROLE.viewer,
    ]);
    const onFlows = await request(ada, 'POST', '/projects/web/resources/flows/access', {
      email: bob.email,
      role_id: ROLE.graphViewer,
    });
    expect(onFlows.status).toBe(422);
    expect((await onFlows.json()).errors[0].pointer).toBe('/role_id');

    const page = await (
      await t.app.request('/projects/web/resources/graph/access', { headers: as(ada) })
    ).text();
    expect(page).toContain(
      `<option value="${ROLE.graphViewer}">Graph Viewer (data plane: Konnektr.Graph) — Read-only access to Graph application</option>`,
    );
    expect(page).toContain(
      'Data Owner (data plane: Konnektr.Graph) — Full access to all data plane resources',
    );
    expect(page).not.toContain('Service Account');

    const granted = await request(ada, 'POST', '/projects/web/resources/graph/access', {
      email: bob.email,
      role_id: ROLE.graphViewer,
    });
    expect(granted.status).toBe(201);
    expect((await granted.json()).assignment).toMatchObject({
      role_id: ROLE.graphViewer,
      role_name: 'Graph Viewer',
    });
  });

  it('works under /api/v1 with an API token, and a read-only token cannot grant', async () => {
    const { ada, bob } = await acme();
    const token = await apiTokenFor(t, ada);
    const res = await t.app.request('/api/v1/projects/web/access', {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ email: bob.email, role_id: ROLE.editor }),
    });
    expect(res.status).toBe(201);
    const readOnly = await apiTokenFor(t, ada, { access: 'read' });
    expect((await t.app.request('/api/v1/projects/web/access', { headers: bearer(readOnly) })).status).toBe(
      200,
    );
    const denied = await t.app.request('/api/v1/projects/web/access', {
      method: 'POST',
      headers: bearer(readOnly),
      body: JSON.stringify({ email: bob.email, role_id: ROLE.owner }),
    });
    expect(denied.status).toBe(403);
  });

  it('refuses a cookie-authenticated write without this site’s Origin', async () => {
    const { ada, bob } = await acme();
    const res = await t.app.request('/projects/web/access', {
      method: 'POST',
      headers: { Cookie: ada.cookie, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email: bob.email, role_id: ROLE.viewer }),
    });
    expect(res.status).toBe(403);
    expect(ORIGIN).toBe('http://localhost');
  });
});
