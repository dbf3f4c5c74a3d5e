import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertAuditEvent } from '../../src/db/audit.repository.ts';
import type { AuditEventsTable } from '../../src/db/types.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { encodeAuditCursor } from '../../src/schemas/audit.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  grant,
  signUpUser,
  type TestUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

interface EventJson {
  event_id: string;
  occurred_at: string;
  org_id: string;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  changes: Record<string, { from?: unknown; to?: unknown }>;
  request_id: string | null;
  ip: string | null;
}

interface AuditJson {
  events: EventJson[];
  next_cursor: string | null;
}

const HTMX = { 'HX-Request': 'true' };

/** An audit row written straight to the table, for shapes real actions do not easily make. */
async function addEvent(
  t: TestContext,
  orgId: string,
  occurredAt: Date,
  fields: Partial<{ [K in keyof AuditEventsTable]: unknown }> = {},
) {
  await insertAuditEvent(t.database.db, {
    occurred_at: occurredAt,
    org_id: orgId,
    actor_type: 'user',
    actor_id: 'someone',
    actor_label: 'someone@example.com',
    action: 'project.updated',
    target_type: 'project',
    target_id: 'some-project',
    changes: JSON.stringify({}),
    request_id: 'req-1',
    ip: '192.0.2.1',
    user_agent: 'test',
    ...fields,
  } as Parameters<typeof insertAuditEvent>[1]);
}

async function getAudit(t: TestContext, user: TestUser, orgId: string, query = ''): Promise<AuditJson> {
  const res = await t.app.request(`/organizations/${orgId}/audit${query}`, { headers: asJson(user) });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as AuditJson;
}

/** Follows next_cursor to the end; answers every event id in the order they came. */
async function allPages(t: TestContext, user: TestUser, orgId: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const body = await getAudit(
      t,
      user,
      orgId,
      `?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    ids.push(...body.events.map((event) => event.event_id));
    cursor = body.next_cursor;
    if (!cursor) return ids;
  }
  throw new Error('pagination did not end');
}

/** Minimal RFC 4180 reader, so the test checks what a spreadsheet would see. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

describe('organization audit log', () => {
  const t = useTestApp();

  async function twoTenants() {
    const alice = await signUpUser(t, 'alice@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    // A second apart, so "newest first" has one answer.
    await createOrgFor(t, alice, 'Acme', 'acme');
    t.clock.advance(1000);
    await createProjectFor(t, alice, 'acme', 'Rocket', 'rocket');
    t.clock.advance(1000);
    await createOrgFor(t, bob, 'Globex', 'globex');
    t.clock.advance(1000);
    await createProjectFor(t, bob, 'globex', 'Hammock', 'hammock');
    t.clock.advance(1000);
    return { alice, bob };
  }

  it('lists the events of real changes, newest first, with column names', async () => {
    const { alice } = await twoTenants();
    t.clock.advance(60_000);
    const renamedAt = t.clock.now().toISOString();
    const renamed = await t.app.request('/organizations/acme', {
      method: 'PATCH',
      headers: asJson(alice, { 'User-Agent': 'audit-test' }),
      body: JSON.stringify({ name: 'Acme Corp' }),
    });
    expect(renamed.status).toBe(200);
    const body = await getAudit(t, alice, 'acme');
    expect(body.next_cursor).toBeNull();
    expect(body.events.map((event) => event.action)).toEqual([
      'organization.updated',
      'project.created',
      'organization.created',
    ]);
    const [rename] = body.events;
    expect(rename).toMatchObject({
      org_id: 'acme',
      actor_type: 'user',
      actor_id: alice.userId,
      actor_label: 'alice@example.com',
      target_type: 'organization',
      target_id: 'acme',
      changes: { name: { from: 'Acme', to: 'Acme Corp' } },
      user_agent: 'audit-test',
    });
    expect(rename?.request_id).toBeTruthy();
    expect(rename?.occurred_at).toBe(renamedAt);
  });

  it('never shows one organization’s events to another: 404 in JSON, fragment, HTML and CSV', async () => {
    const { alice, bob } = await twoTenants();
    const own = await getAudit(t, alice, 'acme');
    expect(own.events.length).toBeGreaterThan(0);
    expect(new Set(own.events.map((event) => event.org_id))).toEqual(new Set(['acme']));

    const bobs = await getAudit(t, bob, 'globex');
    expect(bobs.events.length).toBeGreaterThan(0);
    expect(bobs.events.every((event) => event.org_id === 'globex')).toBe(true);
    expect(JSON.stringify(bobs)).not.toContain('rocket');

    const json = await t.app.request('/organizations/acme/audit', { headers: asJson(bob) });
    expect(json.status).toBe(404);
    const fragment = await t.app.request('/organizations/acme/audit', { headers: as(bob, HTMX) });
    expect(fragment.status).toBe(404);
    expect(await fragment.text()).not.toContain('rocket');
    const page = await t.app.request('/organizations/acme/audit', { headers: as(bob) });
    expect(page.status).toBe(404);
    const csv = await t.app.request('/organizations/acme/audit?format=csv', { headers: as(bob) });
    expect(csv.status).toBe(404);
    const api = await t.app.request('/api/v1/organizations/acme/audit', {
      headers: bearer(await apiTokenFor(t, bob)),
    });
    expect(api.status).toBe(404);

    for (const headers of [asJson(alice), as(alice, HTMX), as(alice)]) {
      expect((await t.app.request('/organizations/acme/audit', { headers })).status).toBe(200);
    }
    const aliceApi = await t.app.request('/api/v1/organizations/acme/audit', {
      headers: bearer(await apiTokenFor(t, alice)),
    });
    expect(aliceApi.status).toBe(200);
  });

  it('does not hand the history of a deleted organization to whoever reuses its id', async () => {
    const { alice, bob } = await twoTenants();
    await addEvent(t, 'acme', t.clock.now(), {
      actor_label: 'secret-member@acme.example',
      ip: '203.0.113.9',
    });
    const deleted = await t.app.request('/organizations/acme', {
      method: 'DELETE',
      headers: asJson(alice),
      body: JSON.stringify({ confirm: 'Acme' }),
    });
    expect(deleted.status).toBe(204);
    t.clock.advance(60_000);
    await createOrgFor(t, bob, 'New Acme', 'acme');
    const body = await getAudit(t, bob, 'acme');
    expect(body.events.map((event) => event.action)).toEqual(['organization.created']);
    expect(JSON.stringify(body)).not.toContain('secret-member');
  });

  it('is for those who manage access: a Viewer or Editor gets 403, nobody signed in 401', async () => {
    const { alice } = await twoTenants();
    const viewer = await signUpUser(t, 'viewer@example.com');
    const editor = await signUpUser(t, 'editor@example.com');
    await grant(t, viewer, ROLE.viewer, 'organization', 'acme');
    await grant(t, editor, ROLE.editor, 'organization', 'acme');
    for (const user of [viewer, editor]) {
      const json = await t.app.request('/organizations/acme/audit', { headers: asJson(user) });
      expect(json.status).toBe(403);
      const page = await t.app.request('/organizations/acme/audit', { headers: as(user) });
      expect(page.status).toBe(403);
      const csv = await t.app.request('/organizations/acme/audit?format=csv', { headers: as(user) });
      expect(csv.status).toBe(403);
    }
    const anonymous = await t.app.request('/organizations/acme/audit', {
      headers: { Accept: 'application/json' },
    });
    expect(anonymous.status).toBe(401);
    const api = await t.app.request('/api/v1/organizations/acme/audit');
    expect(api.status).toBe(401);
    const browser = await t.app.request('/organizations/acme/audit?action=project.');
    expect(browser.status).toBe(303);
    expect(browser.headers.get('Location')).toBe(
      `/auth/login?next=${encodeURIComponent('/organizations/acme/audit?action=project.')}`,
    );
    // A token limited to read cannot either: reading the log is managing access, not reading.
    const readOnly = await apiTokenFor(t, alice, { access: 'read' });
    const limited = await t.app.request('/api/v1/organizations/acme/audit', { headers: bearer(readOnly) });
    expect(limited.status).toBe(403);
  });

  it('filters by actor, action prefix, target and time range', async () => {
    const { alice } = await twoTenants();
    const base = new Date('2026-11-27T13:00:00Z').getTime();
    const at = (minutes: number, seconds = 0) => new Date(base + minutes * 60_000 + seconds * 1000);
    await addEvent(t, 'acme', at(0), {
      actor_id: 'u-carol',
      actor_label: 'Carol@Example.com',
      action: 'access.granted',
      target_type: 'role_assignment',
      target_id: 'ra-1',
    });
    await addEvent(t, 'acme', at(10), {
      actor_id: 'u-dave',
      actor_label: 'dave@example.com (token tok-abc)',
      actor_type: 'token',
      action: 'project.deleted',
      target_type: 'project',
      target_id: 'rocket',
    });
    await addEvent(t, 'acme', at(20, 30), {
      actor_id: 'u-carol',
      actor_label: 'carol@example.com',
      action: 'token.created',
      target_type: 'token',
      target_id: 'tok-xyz',
    });
    await addEvent(t, 'acme', at(30), { action: 'projectx.odd', target_id: 'other' });
    // Another tenant's event that matches every filter below stays out of every answer.
    await addEvent(t, 'globex', at(10), {
      actor_id: 'u-carol',
      actor_label: 'carol@example.com',
      action: 'project.deleted',
      target_type: 'project',
      target_id: 'rocket',
    });

    const actions = async (query: string) =>
      (await getAudit(t, alice, 'acme', query)).events.map((event) => `${event.org_id}:${event.action}`);

    expect(await actions('?actor=u-carol')).toEqual(['acme:token.created', 'acme:access.granted']);
    expect(await actions('?actor=CAROL%40example')).toEqual(['acme:token.created', 'acme:access.granted']);
    expect(await actions('?actor=tok-abc')).toEqual(['acme:project.deleted']);
    // Wildcards are literal: "%" matches no label.
    expect(await actions('?actor=%25')).toEqual([]);

    expect(await actions('?action=project.')).toEqual(['acme:project.deleted', 'acme:project.created']);
    expect(await actions('?action=project_')).toEqual([]);
    expect(await actions('?action=auth.login')).toEqual([]);

    expect(await actions('?target=rocket')).toEqual(['acme:project.deleted', 'acme:project.created']);
    expect(await actions('?target=token')).toEqual(['acme:token.created']);

    // Times: ISO with a zone, datetime-local values (UTC), whole days; `to` includes its minute.
    expect(await actions('?from=2026-11-27T13:10:00Z&to=2026-11-27T13:20:30Z')).toEqual([
      'acme:token.created',
      'acme:project.deleted',
    ]);
    expect(await actions('?from=2026-11-27T13:10:00Z&to=2026-11-27T13:20:29.999Z')).toEqual([
      'acme:project.deleted',
    ]);
    expect(await actions('?from=2026-11-27T13:10&to=2026-11-27T13:20')).toEqual([
      'acme:token.created',
      'acme:project.deleted',
    ]);
    expect(await actions('?from=2026-11-27T14:10:00%2B01:00&to=2026-11-27T13:10')).toEqual([
      'acme:project.deleted',
    ]);
    expect(await actions('?from=2026-11-27T13:01')).toEqual([
      'acme:projectx.odd',
      'acme:token.created',
      'acme:project.deleted',
    ]);
    expect((await actions('?to=2026-11-27')).length).toBe(2 + 4);
    expect(await actions('?from=2026-11-28')).toEqual([]);

    // Filters combine, and blank form fields are no filter at all.
    expect(await actions('?actor=carol&action=token.&target=&from=&to=')).toEqual(['acme:token.created']);
  });

  it('pages through equal timestamps with a cursor: every event exactly once, newest first', async () => {
    const { alice } = await twoTenants();
    const same = new Date('2026-11-27T12:30:00.123Z');
    for (let i = 0; i < 23; i++) await addEvent(t, 'acme', same, { target_id: `same-${i}` });
    for (let i = 0; i < 4; i++) {
      await addEvent(t, 'acme', new Date(same.getTime() + (i + 1) * 1000), { target_id: `later-${i}` });
      await addEvent(t, 'acme', new Date(same.getTime() - (i + 1) * 1000), { target_id: `earlier-${i}` });
    }
    await addEvent(t, 'globex', same, { target_id: 'foreign' });
    const expected = (await getAudit(t, alice, 'acme', '?limit=200')).events;
    expect(expected.length).toBe(23 + 8 + 2);

    for (const limit of [1, 5, 7, 23, 50]) {
      const ids = await allPages(t, alice, 'acme', `limit=${limit}`);
      expect(ids).toEqual(expected.map((event) => event.event_id));
      expect(new Set(ids).size).toBe(ids.length);
    }
    const filtered = await allPages(t, alice, 'acme', 'limit=4&action=project.updated');
    expect(filtered.length).toBe(31);

    const first = await getAudit(t, alice, 'acme', '?limit=33');
    expect(first.next_cursor).toBeNull();
    const defaultPage = await getAudit(t, alice, 'acme');
    expect(defaultPage.events.length).toBe(33);

    // Timestamps finer than a millisecond (a JavaScript Date's grain) still page exactly.
    for (const micros of ['100', '200', '300']) {
      await t.database.db
        .insertInto('ktrlplane.audit_events')
        .values({
          occurred_at: sql<Date>`${`2026-11-27T12:45:00.123${micros}Z`}::timestamptz`,
          org_id: 'acme',
          actor_type: 'system',
          action: 'resource.status_changed',
          target_type: 'resource',
          target_id: `micro-${micros}`,
        })
        .execute();
    }
    const micro = await allPages(t, alice, 'acme', 'limit=1&action=resource.status_changed');
    expect(micro.length).toBe(3);
    expect(new Set(micro).size).toBe(3);

    // "Load more" from a page: the rows to append and the next "Load more" row, nothing else.
    const firstPage = await t.app.request('/organizations/acme/audit?limit=10', { headers: as(alice) });
    const html = await firstPage.text();
    const more = /<a href="([^"]+)" hx-get="\1" hx-target="closest tr" hx-swap="outerHTML"/.exec(html);
    const moreHref = (more?.[1] ?? '').replaceAll('&amp;', '&');
    expect(moreHref).toContain('cursor=');
    expect(moreHref).toContain('limit=10');
    const rows = await t.app.request(moreHref, { headers: as(alice, HTMX) });
    expect(rows.status).toBe(200);
    const rowsHtml = await rows.text();
    expect(rowsHtml).not.toContain('<table');
    expect(rowsHtml).not.toContain('<html');
    expect(rowsHtml.match(/<tr>/g)?.length).toBe(10);
    expect(rowsHtml).toContain('id="audit-more"');
    // Without JavaScript the same link opens the older page in full.
    const fullOlder = await t.app.request(moreHref, { headers: as(alice) });
    expect(await fullOlder.text()).toContain('Back to the newest');
  });

  it('answers 422 naming the parameter for a bad cursor, date or limit', async () => {
    const { alice } = await twoTenants();
    const problems = async (query: string) => {
      const res = await t.app.request(`/organizations/acme/audit${query}`, { headers: asJson(alice) });
      expect(res.status).toBe(422);
      expect(res.headers.get('Content-Type')).toContain('application/problem+json');
      return ((await res.json()) as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer);
    };
    expect(await problems('?cursor=not*base64')).toEqual(['/cursor']);
    expect(await problems(`?cursor=${btoa('hello').replaceAll('=', '')}`)).toEqual(['/cursor']);
    const forged = encodeAuditCursor({ occurredAt: '2026-11-27 12:00', eventId: 'x' });
    expect(await problems(`?cursor=${forged}`)).toEqual(['/cursor']);
    expect(await problems('?from=yesterday')).toEqual(['/from']);
    expect(await problems('?to=2026-02-30')).toEqual(['/to']);
    expect(await problems('?from=2026-11-27T25:00')).toEqual(['/from']);
    expect(await problems('?from=2026-11-28&to=2026-11-27')).toEqual(['/to']);
    expect(await problems('?limit=201')).toEqual(['/limit']);
    expect(await problems('?limit=0')).toEqual(['/limit']);
    expect(await problems('?limit=ten')).toEqual(['/limit']);
    expect(await problems('?format=xml')).toEqual(['/format']);

    const api = await t.app.request('/api/v1/organizations/acme/audit?cursor=%3D%3D', {
      headers: bearer(await apiTokenFor(t, alice)),
    });
    expect(api.status).toBe(422);

    // Browsers get the filter form again, the bad field marked, with 422.
    const page = await t.app.request('/organizations/acme/audit?from=yesterday&actor=bob', {
      headers: as(alice),
    });
    expect(page.status).toBe(422);
    const html = await page.text();
    expect(html).toContain('<html');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('value="bob"');
    const fragment = await t.app.request('/organizations/acme/audit?to=nope', { headers: as(alice, HTMX) });
    expect(fragment.status).toBe(422);
    const fragmentHtml = await fragment.text();
    expect(fragmentHtml).toContain('id="audit-log"');
    expect(fragmentHtml).not.toContain('<html');
    const badMore = await t.app.request('/organizations/acme/audit?cursor=zzz', { headers: as(alice, HTMX) });
    expect(badMore.status).toBe(422);
    expect(await badMore.text()).toMatch(/^<tr>/);
  });

  it('exports CSV with the same filters, every matching row, RFC 4180 quoting and no formulas', async () => {
    const { alice } = await twoTenants();
    const start = new Date('2026-11-27T12:10:00Z').getTime();
    for (let i = 0; i < 60; i++) {
      await addEvent(t, 'acme', new Date(start + i * 1000), {
        target_id: `bulk-${i}`,
        action: 'resource.updated',
      });
    }
    await addEvent(t, 'acme', new Date(start + 120_000), {
      actor_label: 'Mallory, "the" tester\nsecond line',
      action: 'access.granted',
      target_type: 'role_assignment',
      target_id: '=HYPERLINK("http://evil.example","x")',
      changes: JSON.stringify({ role: { from: 'viewer', to: '+owner' } }),
      request_id: '-2+3',
      ip: '@SUM(A1)',
    });
    await addEvent(t, 'acme', new Date(start + 121_000), { action: 'access.revoked', target_id: '\t=1+1' });

    const res = await t.app.request('/organizations/acme/audit?action=access.&format=csv', {
      headers: as(alice),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('Content-Disposition')).toBe('attachment; filename="audit-acme.csv"');
    expect(res.headers.get('X-Next-Cursor')).toBeNull();
    const text = await res.text();
    expect(text.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(text);
    const header = rows[0] ?? [];
    expect(header).toEqual([
      'event_id',
      'occurred_at',
      'org_id',
      'actor_type',
      'actor_id',
      'actor_label',
      'action',
      'target_type',
      'target_id',
      'changes',
      'request_id',
      'ip',
      'user_agent',
    ]);
    expect(rows.length).toBe(3);
    const record = (row: string[] | undefined) =>
      Object.fromEntries(header.map((name, index) => [name, row?.[index]]));
    const revoked = record(rows[1]);
    expect(revoked.action).toBe('access.revoked');
    expect(revoked.target_id).toBe("'\t=1+1");
    const granted = record(rows[2]);
    expect(granted).toMatchObject({
      org_id: 'acme',
      occurred_at: '2026-11-27T12:12:00.000Z',
      actor_label: 'Mallory, "the" tester\nsecond line',
      target_id: `'=HYPERLINK("http://evil.example","x")`,
      request_id: "'-2+3",
      ip: "'@SUM(A1)",
    });
    expect(JSON.parse(granted.changes ?? '')).toEqual({ role: { from: 'viewer', to: '+owner' } });
    // The raw text quotes exactly as RFC 4180 says.
    expect(text).toContain('"Mallory, ""the"" tester\nsecond line"');

    // All matching rows, not one page of 50; the API path exports the same.
    const all = await t.app.request('/api/v1/organizations/acme/audit?format=csv&action=resource.', {
      headers: bearer(await apiTokenFor(t, alice)),
    });
    expect(all.status).toBe(200);
    expect(parseCsv(await all.text()).length).toBe(1 + 60);
    const empty = await t.app.request('/organizations/acme/audit?format=csv&actor=nobody', {
      headers: as(alice),
    });
    expect(parseCsv(await empty.text())).toEqual([header]);
    const bad = await t.app.request('/organizations/acme/audit?format=csv&from=nope', {
      headers: asJson(alice),
    });
    expect(bad.status).toBe(422);
  });

  it('renders a page with filters, a readable table, an export link and an empty state', async () => {
    const { alice } = await twoTenants();
    await addEvent(t, 'acme', new Date('2026-11-27T12:05:00Z'), {
      actor_label: '<script>alert(1)</script>',
      action: 'organization.updated',
      target_type: 'organization',
      target_id: 'acme',
      changes: JSON.stringify({ name: { from: 'Old Name', to: 'New Name' }, plan: { to: 'pro' } }),
      request_id: 'req-abc',
      ip: '198.51.100.7',
    });
    const res = await t.app.request('/organizations/acme/audit?action=organization.&from=2026-11-27T12:00', {
      headers: as(alice),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Vary')).toContain('HX-Request');
    const html = await res.text();
    expect(html).toContain('<html');
    expect(html).toContain('hx-push-url="true"');
    expect(html).toMatch(
      /<form method="get" action="\/organizations\/acme\/audit" hx-get="\/organizations\/acme\/audit"/,
    );
    for (const heading of ['Time (UTC)', 'Actor', 'Action', 'Target', 'Changes', 'Request id', 'IP']) {
      expect(html).toContain(`<th scope="col" class="px-3 py-2">${heading}</th>`);
    }
    expect(html).toContain('for="field-from"');
    expect(html).toContain('value="2026-11-27T12:00"');
    expect(html).toContain('Old Name');
    expect(html).toContain('New Name');
    expect(html).toContain('req-abc');
    expect(html).toContain('198.51.100.7');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain(
      'href="/organizations/acme/audit?action=organization.&amp;from=2026-11-27T12%3A00&amp;format=csv"',
    );
    expect(html).not.toContain('id="audit-more"');

    const fragment = await t.app.request('/organizations/acme/audit?actor=nobody', {
      headers: as(alice, HTMX),
    });
    expect(fragment.status).toBe(200);
    const fragmentHtml = await fragment.text();
    expect(fragmentHtml).not.toContain('<html');
    expect(fragmentHtml).toMatch(/^<div id="audit-log"/);
    expect(fragmentHtml).toContain('No events match these filters');
  });
});
