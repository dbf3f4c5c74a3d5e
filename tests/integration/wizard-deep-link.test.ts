import { describe, expect, it } from 'vitest';
import { ROLE } from '../../src/lib/roles.ts';
import { as, createOrgFor, createProjectFor, grant, ORIGIN, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * The links konnektr-io/home and the Graph Explorer put in front of people:
 * `/resources/create?resource_type=Konnektr.Graph&sku=free|standard` (plus utm_… parameters).
 */
describe('wizard deep link', () => {
  const t = useTestApp();
  const link =
    '/resources/create?resource_type=Konnektr.Graph&sku=standard&utm_source=home&utm_medium=pricing';

  it('sends a signed-out visitor to sign in and back to the link afterwards', async () => {
    const res = await t.app.request(link);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('Location') ?? '', ORIGIN);
    expect(location.pathname).toBe('/auth/login');
    expect(location.searchParams.get('next')).toBe(link);

    await signUpUser(t, 'ada@example.com');
    const signedIn = await t.app.request('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN },
      body: new URLSearchParams({
        email: 'ada@example.com',
        password: 'correct horse battery staple',
        next: link,
      }).toString(),
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('Location')).toBe(link);
  });

  it('lands in the wizard of the only project with type and SKU chosen', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const res = await t.app.request(link, { headers: as(ada) });
    expect(res.status).toBe(303);
    const target = res.headers.get('Location') ?? '';
    expect(target).toBe('/projects/web/resources/new?type=Konnektr.Graph&sku=standard');
    const page = await (await t.app.request(target, { headers: as(ada) })).text();
    expect(page).toMatch(/<input[^>]*name="type"[^>]*value="Konnektr.Graph"[^>]*checked/);
    expect(page).toMatch(/<input[^>]*name="sku"[^>]*value="standard"[^>]*checked/);
    expect(page).not.toMatch(/<input[^>]*name="sku"[^>]*value="free"[^>]*checked/);

    const free = await t.app.request('/resources/create?resource_type=Konnektr.Graph&sku=free', {
      headers: as(ada),
    });
    expect(free.headers.get('Location')).toBe('/projects/web/resources/new?type=Konnektr.Graph&sku=free');
  });

  it('lets someone with several projects pick one, leaving out projects they cannot create in', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createProjectFor(t, ada, 'acme', 'Data', 'data');
    await createOrgFor(t, bob, 'Bobco', 'bobco');
    await createProjectFor(t, bob, 'bobco', 'Shared', 'shared');
    await grant(t, ada, ROLE.viewer, 'project', 'shared');

    const res = await t.app.request(link, { headers: as(ada) });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('href="/projects/web/resources/new?type=Konnektr.Graph&amp;sku=standard"');
    expect(html).toContain('href="/projects/data/resources/new?type=Konnektr.Graph&amp;sku=standard"');
    expect(html).not.toContain('/projects/shared/resources/new');
    expect(html).not.toContain('utm_');
  });
});
