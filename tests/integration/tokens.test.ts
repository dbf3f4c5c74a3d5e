import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/lib/crypto.ts';
import { ROLE } from '../../src/lib/roles.ts';
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
  type TestUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

const DAY = 24 * 60 * 60 * 1000;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

interface Created {
  token: string;
  token_id: string;
  name: string;
  scope_type: string | null;
  scope_id: string | null;
  access: string;
  expires_at: string | null;
  created_at: string;
}

function createWithSession(t: TestContext, user: TestUser, body: Record<string, unknown>) {
  return t.app.request('/tokens', { method: 'POST', headers: asJson(user), body: JSON.stringify(body) });
}

function createWithToken(t: TestContext, secret: string, body: Record<string, unknown>) {
  return t.app.request('/api/v1/tokens', {
    method: 'POST',
    headers: bearer(secret),
    body: JSON.stringify(body),
  });
}

async function created(res: Response): Promise<Created> {
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Created;
}

async function pointers(res: Response): Promise<string[]> {
  const body = (await res.json()) as { errors?: Array<{ pointer: string }> };
  return (body.errors ?? []).map((error) => error.pointer);
}

describe('creating API tokens', () => {
  const t = useTestApp();

  it('creates a token through the session and shows the secret once, storing only its hash', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const org = await createOrgFor(t, ada, 'Acme', 'acme');
    const res = await createWithSession(t, ada, {
      name: 'CI deploys',
      access: 'read',
      scope_type: 'organization',
      scope_id: org.org_id,
      expires_in_days: 30,
    });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const token = await created(res);
    expect(Object.keys(token).sort()).toEqual(
      ['access', 'created_at', 'expires_at', 'name', 'scope_id', 'scope_type', 'token', 'token_id'].sort(),
    );
    expect(token).toMatchObject({
      name: 'CI deploys',
      access: 'read',
      scope_type: 'organization',
      scope_id: 'acme',
      created_at: '2026-11-27T12:00:00.000Z',
      expires_at: '2026-12-27T12:00:00.000Z',
    });
    expect(token.token).toMatch(/^kpt_[A-Za-z0-9_-]{43}$/);
    expect(token.token_id).toMatch(/^tok-[a-z0-9]+$/);

    const row = await t.database.db
      .selectFrom('ktrlplane.api_tokens')
      .selectAll()
      .where('token_id', '=', token.token_id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(await sha256Hex(token.token));
    expect(JSON.stringify(row)).not.toContain(token.token);
    expect(JSON.stringify(row)).not.toContain(token.token.slice(4));

    // The list (JSON, fragment and page) never carries the secret or its hash.
    const hash = row.token_hash;
    const list = await t.app.request('/tokens', { headers: asJson(ada) });
    expect(list.status).toBe(200);
    const listText = await list.text();
    expect(listText).not.toContain(token.token.slice(4));
    expect(listText).not.toContain(hash);
    const listed = JSON.parse(listText).tokens;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ token_id: token.token_id, status: 'active', last_used_at: null });
    expect(listed[0]).not.toHaveProperty('token');
    expect(listed[0]).not.toHaveProperty('token_hash');
    for (const headers of [as(ada), as(ada, { 'HX-Request': 'true' })]) {
      const html = await (await t.app.request('/tokens', { headers })).text();
      expect(html).toContain('CI deploys');
      expect(html).not.toContain(token.token.slice(4));
      expect(html).not.toContain(hash);
    }

    // The audit event names the token, never its secret or hash, and belongs to the scope's org.
    const events = await t.database.db.selectFrom('ktrlplane.audit_events').selectAll().execute();
    const event = events.find((e) => e.action === 'token.created');
    expect(event).toMatchObject({ target_type: 'api_token', target_id: token.token_id, org_id: 'acme' });
    expect(JSON.stringify(events)).not.toContain(token.token.slice(4));
    expect(JSON.stringify(events)).not.toContain(hash);
    expect(JSON.stringify(t.logs)).not.toContain(token.token.slice(4));

    // The token works, and its use shows in the list as last-used time.
    t.clock.advance(60_000);
    const used = await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) });
    expect(used.status).toBe(200);
    const after = (await (await t.app.request('/tokens', { headers: asJson(ada) })).json()).tokens;
    expect(after[0].last_used_at).toBe('2026-11-27T12:01:00.000Z');
  });

  it('creates with defaults: read-write, unscoped, no expiry', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const token = await created(await createWithSession(t, ada, { name: 'laptop' }));
    expect(token).toMatchObject({ access: 'read-write', scope_type: null, scope_id: null, expires_at: null });
    const event = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .selectAll()
      .where('action', '=', 'token.created')
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ actor_type: 'user', org_id: null, target_id: token.token_id });
    const check = await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) });
    expect(check.status).toBe(200);
  });

  it('accepts expires_at and refuses a past one, both expiry forms at once, and bad fields with pointers', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const at = await created(
      await createWithSession(t, ada, { name: 'until new year', expires_at: '2027-01-01T00:00:00+01:00' }),
    );
    expect(at.expires_at).toBe('2026-12-31T23:00:00.000Z');

    const bad = await createWithSession(t, ada, {
      name: '   ',
      access: 'admin',
      scope_type: 'team',
      expires_in_days: 400,
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('Content-Type')).toContain('application/problem+json');
    expect(await pointers(bad)).toEqual(['/name', '/access', '/scope_type', '/expires_in_days']);

    const both = await createWithSession(t, ada, {
      name: 'x',
      expires_in_days: 3,
      expires_at: '2027-01-01T00:00:00Z',
    });
    expect(both.status).toBe(422);
    expect(await pointers(both)).toEqual(['/expires_at']);

    const half = await createWithSession(t, ada, { name: 'x', scope_type: 'organization' });
    expect(await pointers(half)).toEqual(['/scope_id']);

    const past = await createWithSession(t, ada, { name: 'x', expires_at: '2020-01-01T00:00:00Z' });
    expect(past.status).toBe(422);
    expect(await pointers(past)).toEqual(['/expires_at']);

    const zero = await createWithSession(t, ada, { name: 'x', expires_in_days: 0 });
    expect(await pointers(zero)).toEqual(['/expires_in_days']);

    const notJson = await t.app.request('/tokens', { method: 'POST', headers: asJson(ada), body: '{' });
    expect(notJson.status).toBe(400);
  });

  it('answers 404 for a scope the caller cannot read, and lets a viewer make a token for what they read', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const project = await createProjectFor(t, ada, 'acme', 'Prod', 'prod');
    for (const body of [
      { name: 'x', scope_type: 'organization', scope_id: 'acme' },
      { name: 'x', scope_type: 'project', scope_id: project.project_id },
      { name: 'x', scope_type: 'organization', scope_id: 'nope' },
    ]) {
      const res = await createWithSession(t, bob, body);
      expect(res.status).toBe(404);
    }
    await grant(t, bob, ROLE.viewer, 'project', 'prod');
    const ok = await created(
      await createWithSession(t, bob, { name: 'x', scope_type: 'project', scope_id: 'prod' }),
    );
    expect(ok.scope_id).toBe('prod');
    const rows = await t.database.db.selectFrom('ktrlplane.api_tokens').select('user_id').execute();
    expect(rows).toEqual([{ user_id: bob.userId }]);
  });
});

describe('the tokens page', () => {
  const t = useTestApp();

  it('lists tokens with a create form offering the caller’s organizations and projects', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Prod', 'prod');
    await createOrgFor(t, bob, 'Bobco', 'bobco');
    await apiTokenFor(t, ada);
    const res = await t.app.request('/tokens', { headers: as(ada) });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<html');
    expect(html).toContain('action="/tokens"');
    expect(html).toContain('hx-post="/tokens"');
    expect(html).toContain('value="organization:acme"');
    expect(html).toContain('value="project:prod"');
    expect(html).not.toContain('bobco');
    for (const days of ['7', '30', '90', '365', 'none']) expect(html).toContain(`value="${days}"`);
    expect(html).toContain('hx-delete="/tokens/tok-');
    expect(html).toContain('hx-confirm="Revoke the token');
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=|hx-on/);
  });

  it('creates from the form and shows the secret once in a read-only field with a warning', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const res = await t.app.request('/tokens', {
      method: 'POST',
      headers: as(ada, FORM),
      body: 'name=Nightly+export&access=read&scope=organization%3Aacme&expires_in_days=90',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const html = await res.text();
    const secret = /id="new-token-secret"[^>]*value="(kpt_[A-Za-z0-9_-]+)"/.exec(html)?.[1] ?? '';
    const secretTag = /<input[^>]*id="new-token-secret"[^>]*>/.exec(html)?.[0] ?? '';
    expect(secret).toMatch(/^kpt_/);
    expect(secretTag).toContain('readonly');
    expect(html).toContain('It will not be shown again.');
    const row = await t.database.db.selectFrom('ktrlplane.api_tokens').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      name: 'Nightly export',
      access: 'read',
      scope_type: 'organization',
      scope_id: 'acme',
    });
    expect(row.expires_at?.toISOString()).toBe('2027-02-25T12:00:00.000Z');
    expect(row.token_hash).toBe(await sha256Hex(secret));

    // Reloading the page does not show it again.
    const again = await (await t.app.request('/tokens', { headers: as(ada) })).text();
    expect(again).toContain('Nightly export');
    expect(again).not.toContain(secret);
    expect(again).not.toContain('new-token-secret');
  });

  it('creates through htmx as a fragment, and re-renders the form with errors and typed values on 422', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const ok = await t.app.request('/tokens', {
      method: 'POST',
      headers: as(ada, { ...FORM, 'HX-Request': 'true' }),
      body: 'name=cli&access=read-write&scope=&expires_in_days=none',
    });
    expect(ok.status).toBe(201);
    const fragment = await ok.text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toContain('id="tokens-page"');
    expect(fragment).toContain('id="new-token-secret"');
    const row = await t.database.db.selectFrom('ktrlplane.api_tokens').selectAll().executeTakeFirstOrThrow();
    expect(row.expires_at).toBeNull();

    const bad = await t.app.request('/tokens', {
      method: 'POST',
      headers: as(ada, { ...FORM, 'HX-Request': 'true' }),
      body: 'name=&access=read&scope=organization%3A&expires_in_days=9999',
    });
    expect(bad.status).toBe(422);
    const html = await bad.text();
    expect(html).not.toContain('<html');
    expect(html).toContain('enter a name that says where the token is used');
    expect(html).toContain('send the id of the scope too');
    expect(html).toContain('at most 365 days');
    expect(html).not.toContain('new-token-secret');

    const foreign = await t.app.request('/tokens', {
      method: 'POST',
      headers: as(ada, FORM),
      body: 'name=Mine&scope=organization%3Asomeone-else',
    });
    expect(foreign.status).toBe(404);
    const page = await foreign.text();
    expect(page).toContain('<html');
    expect(page).toContain('value="Mine"');
    expect(page).toContain('No organization');
  });

  it('refuses a cookie form post without this site’s Origin', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const res = await t.app.request('/tokens', {
      method: 'POST',
      headers: { Cookie: ada.cookie, ...FORM, Origin: 'https://evil.example' },
      body: 'name=x',
    });
    expect(res.status).toBe(403);
    expect(await t.database.db.selectFrom('ktrlplane.api_tokens').selectAll().execute()).toHaveLength(0);
  });
});

describe('what a token may do', () => {
  const t = useTestApp();

  it('a token scoped to one organization cannot read another (404) but reads its own', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createOrgFor(t, ada, 'Other', 'other');
    const token = await created(
      await createWithSession(t, ada, { name: 'acme only', scope_type: 'organization', scope_id: 'acme' }),
    );
    const own = await t.app.request('/api/v1/organizations/acme', { headers: bearer(token.token) });
    expect(own.status).toBe(200);
    const other = await t.app.request('/api/v1/organizations/other', { headers: bearer(token.token) });
    expect(other.status).toBe(404);
  });

  it('a read-only token reads but gets 403 on writes, minting tokens included', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const token = await created(await createWithSession(t, ada, { name: 'reader', access: 'read' }));
    expect((await t.app.request('/api/v1/organizations/acme', { headers: bearer(token.token) })).status).toBe(
      200,
    );
    const rename = await t.app.request('/api/v1/organizations/acme', {
      method: 'PATCH',
      headers: bearer(token.token),
      body: JSON.stringify({ name: 'Renamed' }),
    });
    expect(rename.status).toBe(403);
    // Not even itself: revoking is a write.
    const revoke = await t.app.request(`/api/v1/tokens/${token.token_id}`, {
      method: 'DELETE',
      headers: bearer(token.token),
    });
    expect(revoke.status).toBe(403);
    expect((await revoke.json()).detail).toContain('read-only');
  });

  it('no API token manages tokens: listing, minting and revoking another answer 403 and change nothing', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Prod', 'prod');
    const other = await created(await createWithSession(t, ada, { name: 'ci deploys' }));
    const tokens = [
      await apiTokenFor(t, ada),
      await apiTokenFor(t, ada, { scopeType: 'organization', scopeId: 'acme' }),
      await apiTokenFor(t, ada, { scopeType: 'project', scopeId: 'prod', access: 'read' }),
    ];
    const rowsBefore = await t.database.db
      .selectFrom('ktrlplane.api_tokens')
      .selectAll()
      .orderBy('token_id')
      .execute();
    for (const secret of tokens) {
      for (const body of [{ name: 'child' }, { name: 'same', scope_type: 'project', scope_id: 'prod' }]) {
        const mint = await createWithToken(t, secret, body);
        expect(mint.status).toBe(403);
        expect((await mint.json()).detail).toContain('API tokens cannot manage API tokens');
      }
      const list = await t.app.request('/api/v1/tokens', { headers: bearer(secret) });
      expect(list.status).toBe(403);
      // Outside /api/v1 too: a bearer credential is accepted on every path.
      const page = await t.app.request('/tokens', {
        method: 'POST',
        headers: bearer(secret),
        body: '{"name":"x"}',
      });
      expect(page.status).toBe(403);
      const revoke = await t.app.request(`/api/v1/tokens/${other.token_id}`, {
        method: 'DELETE',
        headers: bearer(secret),
      });
      expect(revoke.status).toBe(403);
      expect((await revoke.json()).detail).toContain('cannot manage other API tokens');
    }
    const rowsAfter = await t.database.db
      .selectFrom('ktrlplane.api_tokens')
      .selectAll()
      .orderBy('token_id')
      .execute();
    // Only last_used_at moves (the refused requests were authenticated); nothing was created or revoked.
    const stable = (rows: typeof rowsBefore) => rows.map(({ last_used_at: _used, ...row }) => row);
    expect(stable(rowsAfter)).toEqual(stable(rowsBefore));
    const events = await t.database.db.selectFrom('ktrlplane.audit_events').select('action').execute();
    expect(events.filter((e) => e.action.startsWith('token.'))).toHaveLength(1);
  });
});

describe('revoking and expiry', () => {
  const t = useTestApp();

  it('a revoked token gets 401 on its next request, and the revoke is audited', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const token = await created(
      await createWithSession(t, ada, { name: 'soon gone', scope_type: 'organization', scope_id: 'acme' }),
    );
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) })).status).toBe(200);
    t.clock.advance(1000);
    const res = await t.app.request(`/tokens/${token.token_id}`, { method: 'DELETE', headers: asJson(ada) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      token_id: token.token_id,
      status: 'revoked',
      revoked_at: '2026-11-27T12:00:01.000Z',
    });
    const denied = await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) });
    expect(denied.status).toBe(401);
    const event = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .selectAll()
      .where('action', '=', 'token.revoked')
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ target_id: token.token_id, org_id: 'acme', actor_id: ada.userId });
    // Revoking again changes nothing and writes no second event.
    const again = await t.app.request(`/tokens/${token.token_id}`, {
      method: 'DELETE',
      headers: asJson(ada),
    });
    expect(again.status).toBe(200);
    const events = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select('event_id')
      .where('action', '=', 'token.revoked')
      .execute();
    expect(events).toHaveLength(1);
    const list = (await (await t.app.request('/tokens', { headers: asJson(ada) })).json()).tokens;
    expect(list[0]).toMatchObject({ status: 'revoked' });
  });

  it('a token can revoke itself through /api/v1 and is refused right after', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const secret = await apiTokenFor(t, ada);
    const self = await (await t.app.request('/api/v1/tokens/self', { headers: bearer(secret) })).json();
    const res = await t.app.request(`/api/v1/tokens/${self.token_id}`, {
      method: 'DELETE',
      headers: bearer(secret),
    });
    expect(res.status).toBe(200);
    expect((await t.app.request('/api/v1/tokens', { headers: bearer(secret) })).status).toBe(401);
  });

  it('the htmx revoke answers the row, marked revoked and without its button', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const token = await created(await createWithSession(t, ada, { name: 'row' }));
    const res = await t.app.request(`/tokens/${token.token_id}`, {
      method: 'DELETE',
      headers: as(ada, { 'HX-Request': 'true' }),
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`id="token-${token.token_id}"`);
    expect(html).toContain('revoked');
    expect(html).not.toContain('hx-delete');
    expect(html).not.toContain('<html');
  });

  it('expired tokens get 401, whether they expired by expires_in_days or were made expired', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const token = await created(await createWithSession(t, ada, { name: 'day', expires_in_days: 1 }));
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) })).status).toBe(200);
    t.clock.advance(DAY + 1);
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) })).status).toBe(401);
    const list = (await (await t.app.request('/tokens', { headers: asJson(ada) })).json()).tokens;
    expect(list[0]).toMatchObject({ status: 'expired' });

    const old = await apiTokenFor(t, ada, { expiresAt: new Date(t.clock.now().getTime() - 1000) });
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(old) })).status).toBe(401);
    const revoked = await apiTokenFor(t, ada, { revoked: true });
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(revoked) })).status).toBe(401);
  });
});

describe('tokens are their owner’s alone', () => {
  const t = useTestApp();

  it('user B cannot list A’s tokens', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    const token = await created(await createWithSession(t, ada, { name: 'ada secret thing' }));
    const bobList = await t.app.request('/tokens', { headers: asJson(bob) });
    expect((await bobList.json()).tokens).toEqual([]);
    const bobPage = await (await t.app.request('/tokens', { headers: as(bob) })).text();
    expect(bobPage).not.toContain('ada secret thing');
    expect(bobPage).not.toContain(token.token_id);
    const bobSecret = await apiTokenFor(t, bob);
    const viaToken = await t.app.request('/api/v1/tokens', { headers: bearer(bobSecret) });
    expect(viaToken.status).toBe(403);
    expect(await viaToken.text()).not.toContain(token.token_id);
  });

  it('DELETE /tokens/:tokenId: the owner gets 200, another user 404 in JSON, fragment and HTML', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    const token = await created(await createWithSession(t, ada, { name: 'ada' }));
    const path = `/tokens/${token.token_id}`;
    const bobSecret = await apiTokenFor(t, bob);

    const attempts: Array<[string, Record<string, string>, string]> = [
      [path, asJson(bob), 'json'],
      [path, as(bob, { 'HX-Request': 'true' }), 'fragment'],
      [path, as(bob), 'page'],
      [`/api/v1${path}`, bearer(bobSecret), 'api'],
    ];
    for (const [url, headers, label] of attempts) {
      const res = await t.app.request(url, { method: 'DELETE', headers });
      expect(res.status, label).toBe(404);
      const text = await res.text();
      if (label === 'fragment') expect(text).not.toContain('<html');
      if (label === 'page') expect(text).toContain('<html');
    }
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) })).status).toBe(200);
    const unknown = await t.app.request('/tokens/tok-doesnotexist', {
      method: 'DELETE',
      headers: asJson(ada),
    });
    expect(unknown.status).toBe(404);
    const malformed = await t.app.request('/tokens/..%2Fx', { method: 'DELETE', headers: asJson(ada) });
    expect(malformed.status).toBe(404);

    for (const [headers, expected] of [
      [asJson(ada), 200],
      [as(ada, { 'HX-Request': 'true' }), 200],
      [as(ada), 303],
    ] as const) {
      const res = await t.app.request(path, { method: 'DELETE', headers });
      expect(res.status).toBe(expected);
    }
    expect((await t.app.request('/api/v1/tokens/self', { headers: bearer(token.token) })).status).toBe(401);
    const events = await t.database.db.selectFrom('ktrlplane.audit_events').selectAll().execute();
    expect(events.filter((e) => e.action === 'token.revoked')).toHaveLength(1);
  });

  it('needs a signed-in caller', async () => {
    expect((await t.app.request('/api/v1/tokens')).status).toBe(401);
    expect((await t.app.request('/tokens', { headers: { Accept: 'application/json' } })).status).toBe(401);
    const page = await t.app.request('/tokens');
    expect(page.status).toBe(303);
    expect(page.headers.get('Location')).toBe('/auth/login?next=%2Ftokens');
    const post = await t.app.request('/api/v1/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ORIGIN },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(post.status).toBe(401);
  });
});

describe('GET /api/v1/tokens/self', () => {
  const t = useTestApp();

  it('describes a scoped token and the control-plane actions it holds there', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const rw = await created(
      await createWithSession(t, ada, {
        name: 'acme rw',
        scope_type: 'organization',
        scope_id: 'acme',
        expires_in_days: 30,
      }),
    );
    t.clock.advance(5000);
    const res = await t.app.request('/api/v1/tokens/self', { headers: bearer(rw.token) });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      token_id: rw.token_id,
      name: 'acme rw',
      user_id: ada.userId,
      scope_type: 'organization',
      scope_id: 'acme',
      access: 'read-write',
      status: 'active',
      created_at: '2026-11-27T12:00:00.000Z',
      expires_at: '2026-12-27T12:00:00.000Z',
      last_used_at: '2026-11-27T12:00:05.000Z',
      revoked_at: null,
      permissions: {
        scope_type: 'organization',
        scope_id: 'acme',
        actions: ['read', 'write', 'delete', 'manage_access', 'manage_billing'],
      },
    });
    expect(JSON.stringify(body)).not.toContain(rw.token.slice(4));

    const ro = await created(
      await createWithSession(t, ada, {
        name: 'ro',
        access: 'read',
        scope_type: 'organization',
        scope_id: 'acme',
      }),
    );
    const roBody = await (await t.app.request('/tokens/self', { headers: bearer(ro.token) })).json();
    expect(roBody.permissions.actions).toEqual(['read']);
  });

  it('gives the roles of the user cut down to the scope: a viewer’s project token only reads', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const bob = await signUpUser(t, 'bob@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Prod', 'prod');
    await grant(t, bob, ROLE.viewer, 'project', 'prod');
    const token = await apiTokenFor(t, bob, { scopeType: 'project', scopeId: 'prod' });
    const body = await (await t.app.request('/api/v1/tokens/self', { headers: bearer(token) })).json();
    expect(body.permissions).toEqual({ scope_type: 'project', scope_id: 'prod', actions: ['read'] });
  });

  it('answers null permissions with a note for an unscoped token', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const token = await apiTokenFor(t, ada);
    const body = await (await t.app.request('/api/v1/tokens/self', { headers: bearer(token) })).json();
    expect(body.permissions).toBeNull();
    expect(body.note).toContain('not limited');
    expect(body.user_id).toBe(ada.userId);
  });

  it('answers a session caller with 404 saying it describes bearer tokens, and 401 without credentials', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const res = await t.app.request('/tokens/self', { headers: asJson(ada) });
    expect(res.status).toBe(404);
    expect((await res.json()).detail).toContain('Authorization: Bearer');
    const page = await t.app.request('/tokens/self', { headers: as(ada) });
    expect(page.status).toBe(404);
    expect((await t.app.request('/api/v1/tokens/self')).status).toBe(401);
  });
});
