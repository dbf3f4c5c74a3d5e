import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  grant,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('organizations and projects', () => {
  const t = useTestApp();

  it('creates an organization whose creator is Owner, with an id made from the name', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const res = await t.app.request('/organizations', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Acme Robotics' }),
    });
    expect(res.status).toBe(201);
    const org = await res.json();
    expect(org.org_id).toMatch(/^acme-robotics-[a-z0-9]{4}$/);
    expect(org.name).toBe('Acme Robotics');
    const list = await (await t.app.request('/api/v1/organizations', { headers: asJson(ada) })).status;
    expect(list).toBe(401); // /api/v1 takes bearer credentials only
    const mine = await (await t.app.request('/organizations', { headers: asJson(ada) })).json();
    expect(mine.map((o: { org_id: string }) => o.org_id)).toEqual([org.org_id]);
    const detail = await (
      await t.app.request(`/organizations/${org.org_id}`, { headers: asJson(ada) })
    ).json();
    // Owners may also report usage for data planes they run (usage/report, migration 0009).
    expect(detail.permissions).toEqual([
      'delete',
      'manage_access',
      'manage_billing',
      'read',
      'usage/report',
      'write',
    ]);
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .selectAll()
      .where('action', '=', 'organization.created')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ org_id: org.org_id, actor_id: ada.userId, target_id: org.org_id });
  });

  it('accepts a chosen id, refuses a taken one with 409 and a bad one with 422', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const ok = await t.app.request('/organizations', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Acme', org_id: 'acme' }),
    });
    expect(ok.status).toBe(201);
    const taken = await t.app.request('/organizations', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Acme 2', org_id: 'acme' }),
    });
    expect(taken.status).toBe(409);
    const bad = await t.app.request('/organizations', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: '', org_id: 'Bad_Id' }),
    });
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/name',
      '/org_id',
    ]);
  });

  it('renames, lists projects with counts and deletes only after the name is typed', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const project = await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, project.project_id, 'graph');
    const renamed = await t.app.request('/organizations/acme', {
      method: 'PATCH',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Acme Inc' }),
    });
    expect((await renamed.json()).name).toBe('Acme Inc');
    const projects = await (
      await t.app.request('/organizations/acme/projects', { headers: asJson(ada) })
    ).json();
    expect(projects).toEqual([
      expect.objectContaining({ project_id: 'web', resource_count: 1, status_summary: { Pending: 1 } }),
    ]);
    const wrong = await t.app.request('/organizations/acme', {
      method: 'DELETE',
      headers: asJson(ada),
      body: JSON.stringify({ confirm: 'acme' }),
    });
    expect(wrong.status).toBe(422);
    expect((await wrong.json()).errors[0].pointer).toBe('/confirm');
    const gone = await t.app.request('/organizations/acme', {
      method: 'DELETE',
      headers: asJson(ada),
      body: JSON.stringify({ confirm: 'Acme Inc' }),
    });
    expect(gone.status).toBe(204);
    const resources = await t.database.db.selectFrom('ktrlplane.resources').selectAll().execute();
    expect(resources).toEqual([]);
    expect((await t.app.request('/organizations/acme', { headers: asJson(ada) })).status).toBe(404);
  });

  it('creates, edits and deletes a project inside an organization', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const created = await t.app.request('/organizations/acme/projects', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Data Platform', description: 'graphs' }),
    });
    expect(created.status).toBe(201);
    const project = await created.json();
    expect(project).toMatchObject({ org_id: 'acme', name: 'Data Platform', description: 'graphs' });
    const edited = await t.app.request(`/projects/${project.project_id}`, {
      method: 'PATCH',
      headers: asJson(ada),
      body: JSON.stringify({ description: 'twins' }),
    });
    expect((await edited.json()).description).toBe('twins');
    const all = await (await t.app.request('/projects', { headers: asJson(ada) })).json();
    expect(all.map((p: { project_id: string }) => p.project_id)).toEqual([project.project_id]);
    const deleted = await t.app.request(`/projects/${project.project_id}`, {
      method: 'DELETE',
      headers: asJson(ada),
      body: JSON.stringify({ confirm: 'Data Platform' }),
    });
    expect(deleted.status).toBe(204);
  });

  it('lets a project Viewer read the project but not change it, and not see the organization', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await grant(t, bob, ROLE.viewer, 'project', 'web');
    expect((await t.app.request('/projects/web', { headers: asJson(bob) })).status).toBe(200);
    const patch = await t.app.request('/projects/web', {
      method: 'PATCH',
      headers: asJson(bob),
      body: JSON.stringify({ name: 'Mine' }),
    });
    expect(patch.status).toBe(403);
    expect((await t.app.request('/organizations/acme', { headers: asJson(bob) })).status).toBe(404);
    const projects = await (await t.app.request('/projects', { headers: asJson(bob) })).json();
    expect(projects.map((p: { project_id: string }) => p.project_id)).toEqual(['web']);
  });

  it('grants nothing through an expired assignment', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await grant(t, bob, ROLE.editor, 'organization', 'acme', new Date(t.clock.now().getTime() - 1000));
    expect((await t.app.request('/organizations/acme', { headers: asJson(bob) })).status).toBe(404);
  });

  it('serves pages: the organization page with its project form, and form errors in place', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const page = await t.app.request('/organizations/acme', { headers: as(ada, { Accept: 'text/html' }) });
    const html = await page.text();
    expect(html).toContain('<!DOCTYPE html>');
    expect(html).toContain('New project');
    expect(html).toContain('data-testid="org-switcher"');
    const invalid = await t.app.request('/organizations/acme/projects', {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' }),
      body: 'name=&project_id=Bad',
    });
    expect(invalid.status).toBe(422);
    const fragment = await invalid.text();
    expect(fragment).toContain('id="create-project"');
    expect(fragment).toContain('enter a name');
    expect(fragment).not.toContain('<html');
    const created = await t.app.request('/organizations/acme/projects', {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded', 'HX-Request': 'true' }),
      body: 'name=Web&project_id=web',
    });
    expect(created.headers.get('HX-Redirect')).toBe('/projects/web');
  });

  it('sends an anonymous browser to sign in and an anonymous API client a 401', async () => {
    const page = await t.app.request('/organizations', { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(303);
    expect(page.headers.get('Location')).toBe('/auth/login?next=%2Forganizations');
    const api = await t.app.request('/api/v1/organizations');
    expect(api.status).toBe(401);
  });

  it('opens the last used project from /', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    expect((await t.app.request('/', { headers: as(ada) })).headers.get('Location')).toBe('/organizations');
    await t.app.request('/projects/web', { headers: as(ada) });
    expect((await t.app.request('/', { headers: as(ada) })).headers.get('Location')).toBe('/projects/web');
  });
});
