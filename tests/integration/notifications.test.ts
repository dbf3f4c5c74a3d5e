import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { notify } from '../../src/services/notifications.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

interface NotificationJson {
  id: string;
  org_id: string;
  project_id: string | null;
  kind: string;
  title: string;
  body: string;
  link: string | null;
  read_at: string | null;
}

describe('in-app notifications', () => {
  const t = useTestApp({ BASE_URL: ORIGIN });

  async function world() {
    const ada = await signUpUser(t, 'ada@example.com'); // owner of acme
    const bea = await signUpUser(t, 'bea@example.com'); // viewer of acme
    const cyd = await signUpUser(t, 'cyd@example.com'); // editor of the web project only
    const dan = await signUpUser(t, 'dan@example.com'); // another organization
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createOrgFor(t, dan, 'Dans', 'dans');
    await grant(t, bea, ROLE.viewer, 'organization', 'acme');
    await grant(t, cyd, ROLE.editor, 'project', 'web');
    return { ada, bea, cyd, dan };
  }

  function send(
    ctx: TestContext,
    input: Partial<Parameters<typeof notify>[1]> & Pick<Parameters<typeof notify>[1], 'audience'>,
  ) {
    return withTransaction(ctx.database.db, (trx) =>
      notify(trx, {
        orgId: 'acme',
        kind: 'usage.quota',
        title: 'API calls at 80% of the monthly quota',
        body: '80,000 of 100,000 API calls used this month.',
        link: '/organizations/acme/billing',
        dedupeKey: 'quota:acme:api_calls:2026-11:80',
        now: ctx.clock.now(),
        baseUrl: ORIGIN,
        ...input,
      }),
    );
  }

  async function listOf(user: Parameters<typeof asJson>[0], query = '') {
    const res = await t.app.request(`/notifications${query}`, { headers: asJson(user) });
    expect(res.status).toBe(200);
    return (await res.json()) as {
      notifications: NotificationJson[];
      unread_count: number;
      next: string | null;
    };
  }

  async function outbox() {
    return t.database.db
      .selectFrom('ktrlplane.mail_outbox')
      .select(['to_address', 'subject', 'body_text'])
      .orderBy('to_address')
      .execute();
  }

  it('reaches the audience the roles name, once per dedupe key, with one email each', async () => {
    const { ada, bea, cyd, dan } = await world();
    // billing = manage_billing on the organization: only the owner.
    expect((await send(t, { audience: 'billing' })).map((row) => row.user_id)).toEqual([ada.userId]);
    // Again (a job re-run): nobody is notified twice, no second mail.
    expect(await send(t, { audience: 'billing' })).toEqual([]);
    const mails = await outbox();
    expect(mails).toEqual([
      {
        to_address: 'ada@example.com',
        subject: 'API calls at 80% of the monthly quota',
        body_text: expect.stringContaining(`${ORIGIN}/organizations/acme/billing`),
      },
    ]);

    // project-members = read on the project (org viewers and owners, the project's editor), not dan.
    const members = await send(t, {
      audience: 'project-members',
      projectId: 'web',
      dedupeKey: 'alert:web:1',
      kind: 'alert.firing',
      email: false,
    });
    expect(members.map((row) => row.user_id).sort()).toEqual([ada.userId, bea.userId, cyd.userId].sort());
    expect(await outbox()).toHaveLength(1);

    // Named users are kept to members of the organization: dan (outsider) gets nothing.
    const named = await send(t, { audience: [bea.userId, dan.userId], dedupeKey: 'named:1', email: false });
    expect(named.map((row) => row.user_id)).toEqual([bea.userId]);

    // org-admins = manage_access on the organization.
    const admins = await send(t, { audience: 'org-admins', dedupeKey: 'admins:1', email: false });
    expect(admins.map((row) => row.user_id)).toEqual([ada.userId]);

    expect((await listOf(dan)).notifications).toEqual([]);
    const bea1 = await listOf(bea);
    expect(bea1.unread_count).toBe(2);
    expect(bea1.notifications.map((n) => n.kind).sort()).toEqual(['alert.firing', 'usage.quota'].sort());
  });

  it('two notifiers at once insert one row and queue one mail per recipient', async () => {
    await world();
    const results = await Promise.all([send(t, { audience: 'billing' }), send(t, { audience: 'billing' })]);
    expect(results.flat()).toHaveLength(1);
    expect(await outbox()).toHaveLength(1);
  });

  it('lists, counts on the bell, marks read (one, all), and hides others’ notifications behind 404', async () => {
    const { ada, bea } = await world();
    await send(t, { audience: 'billing', dedupeKey: 'k1', title: 'First' });
    t.clock.advance(1000);
    await send(t, { audience: 'billing', dedupeKey: 'k2', title: 'Second', link: null });
    await send(t, { audience: [bea.userId], dedupeKey: 'k3', title: 'For Bea' });

    const page = await t.app.request('/projects', { headers: as(ada, { Accept: 'text/html' }) });
    const html = await page.text();
    expect(html).toContain('aria-label="Notifications, 2 unread"');
    expect(html).toMatch(/data-testid="notification-count"[^>]*>2</);

    const list = await listOf(ada);
    expect(list.notifications.map((n) => n.title)).toEqual(['Second', 'First']);
    const first = list.notifications[1] as NotificationJson;

    // Bea cannot mark (or even probe) Ada's notification.
    const foreign = await t.app.request(`/notifications/${first.id}/read`, {
      method: 'POST',
      headers: asJson(bea),
    });
    expect(foreign.status).toBe(404);
    expect((await listOf(ada)).unread_count).toBe(2);

    // htmx: the item comes back read, and the bell out of band with the new count.
    const fragment = await t.app.request(`/notifications/${first.id}/read`, {
      method: 'POST',
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(fragment.status).toBe(200);
    const fragmentHtml = await fragment.text();
    expect(fragmentHtml).toContain('data-unread="false"');
    expect(fragmentHtml).toContain('hx-swap-oob="true"');
    expect(fragmentHtml).toContain('Notifications, 1 unread');

    // Open: marks read and follows the stored link.
    const open = await t.app.request(`/notifications/${first.id}/open`, { method: 'POST', headers: as(ada) });
    expect(open.status).toBe(303);
    expect(open.headers.get('Location')).toBe('/organizations/acme/billing');

    const unread = await listOf(ada, '?unread=1');
    expect(unread.notifications.map((n) => n.title)).toEqual(['Second']);

    const all = await t.app.request('/notifications/read-all', { method: 'POST', headers: asJson(ada) });
    expect(await all.json()).toEqual({ marked: 1 });
    expect((await listOf(ada)).unread_count).toBe(0);
    expect((await listOf(bea)).unread_count).toBe(1);

    const count = await t.app.request('/notifications/unread-count', { headers: asJson(bea) });
    expect(await count.json()).toEqual({ unread_count: 1 });
  });

  it('pages by cursor and rejects a cursor it did not give out with 422', async () => {
    const { ada } = await world();
    for (let i = 0; i < 55; i++) {
      t.clock.advance(1000);
      await send(t, { audience: 'billing', dedupeKey: `k${i}`, title: `N${i}`, email: false });
    }
    const first = await listOf(ada);
    expect(first.notifications).toHaveLength(50);
    expect(first.notifications[0]?.title).toBe('N54');
    expect(first.next).not.toBeNull();
    const second = await listOf(ada, `?before=${encodeURIComponent(first.next ?? '')}`);
    expect(second.notifications.map((n) => n.title)).toEqual(['N4', 'N3', 'N2', 'N1', 'N0']);
    expect(second.next).toBeNull();

    const bad = await t.app.request('/notifications?before=nonsense', { headers: asJson(ada) });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { errors: Array<{ pointer: string }> }).errors[0]?.pointer).toBe('/before');
  });

  it('works through /api/v1 with tokens: a token scoped to one organization sees only its notifications', async () => {
    const { ada } = await world();
    await createOrgFor(t, ada, 'Other', 'other');
    await send(t, { audience: 'billing', dedupeKey: 'acme-1', email: false });
    await send(t, { orgId: 'other', audience: 'billing', dedupeKey: 'other-1', email: false });

    const everything = await apiTokenFor(t, ada);
    const res = await t.app.request('/api/v1/notifications', { headers: bearer(everything) });
    expect(((await res.json()) as { unread_count: number }).unread_count).toBe(2);

    const scoped = await apiTokenFor(t, ada, { scopeType: 'organization', scopeId: 'other' });
    const list = (await (
      await t.app.request('/api/v1/notifications', { headers: bearer(scoped) })
    ).json()) as {
      notifications: NotificationJson[];
    };
    expect(list.notifications.map((n) => n.org_id)).toEqual(['other']);
    const acmeId = (await listOf(ada)).notifications.find((n) => n.org_id === 'acme')?.id;
    const outside = await t.app.request(`/api/v1/notifications/${acmeId}/read`, {
      method: 'POST',
      headers: bearer(scoped),
    });
    expect(outside.status).toBe(404);

    const readOnly = await apiTokenFor(t, ada, { access: 'read' });
    const denied = await t.app.request(`/api/v1/notifications/${acmeId}/read`, {
      method: 'POST',
      headers: bearer(readOnly),
    });
    expect(denied.status).toBe(403);

    const marked = await t.app.request(`/api/v1/notifications/${acmeId}/read`, {
      method: 'POST',
      headers: bearer(everything),
    });
    expect(marked.status).toBe(200);
    expect(((await marked.json()) as NotificationJson).read_at).toBe(t.clock.now().toISOString());
  });

  it('renders the page with its actions and an empty state', async () => {
    const { ada, bea } = await world();
    const empty = await (await t.app.request('/notifications', { headers: as(bea) })).text();
    expect(empty).toContain('No notifications yet');
    await send(t, { audience: 'billing' });
    const html = await (await t.app.request('/notifications', { headers: as(ada) })).text();
    expect(html).toContain('API calls at 80% of the monthly quota');
    expect(html).toContain('action="/notifications/read-all"');
    expect(html).toMatch(/action="\/notifications\/[^"]+\/open"/);
  });
});
