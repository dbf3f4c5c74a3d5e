import { afterAll, beforeEach, describe, expect, it } from 'vitest';
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
import { API_AUDIENCE, startOidcProvider, WEB_CLIENT } from '../helpers/oidc-provider.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Linking a local account to an identity at the provider (issue 14, "Identities"): the data plane
 * sends the provider's `sub` as the user id, which a `local|…` account never matches until linked.
 */
const BASE_URL = 'http://localhost';
const provider = await startOidcProvider({ baseUrl: BASE_URL });
afterAll(() => provider.close());

const BROWSER = { Accept: 'text/html,application/xhtml+xml' };

describe('identity linking', () => {
  const t = useTestApp({
    BASE_URL,
    OIDC_ISSUER: provider.issuer,
    OIDC_AUDIENCE: API_AUDIENCE,
    OIDC_CLIENT_ID: WEB_CLIENT.id,
    OIDC_CLIENT_SECRET: WEB_CLIENT.secret,
  });
  beforeEach(() => t.clock.set(new Date()));

  /** Runs the link flow from the account page for `user` with the provider account `sub`. */
  async function link(user: TestUser, sub: string, cookie = user.cookie) {
    const started = await t.app.request('/auth/oidc/link', { method: 'POST', headers: as(user, BROWSER) });
    expect(started.status).toBe(303);
    const binding = (started.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    const callback = await provider.authorizeInBrowser(started.headers.get('Location') ?? '', sub);
    return t.app.request(callback.pathname + callback.search, {
      headers: { ...BROWSER, Cookie: [binding, cookie].filter(Boolean).join('; ') },
    });
  }

  async function identities(userId: string) {
    return t.database.db
      .selectFrom('ktrlplane.user_identities')
      .select(['sub', 'email'])
      .where('user_id', '=', userId)
      .execute();
  }

  it('links the signed-in local account to its identity; the data plane’s sub then gets the account’s roles', async () => {
    provider.accounts.set('auth0|ada', { email: 'ada@acme.example', name: 'Ada' });
    const ada = await signUpUser(t, 'ada@acme.example', 'Ada', { verified: false });
    const checker = await signUpUser(t, 'graph-service@example.com');
    // Only a service account (an M2M client) may ask on behalf of someone else.
    await t.database.db
      .updateTable('ktrlplane.users')
      .set({ kind: 'service' })
      .where('user_id', '=', checker.userId)
      .execute();
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'graph');
    await grant(t, checker, ROLE.permissionChecker, 'global', 'global');
    const checkerToken = await apiTokenFor(t, checker);
    const check = async () =>
      (
        await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=graph&userId=auth0%7Cada', {
          headers: bearer(checkerToken),
        })
      ).json();
    expect((await check()).permissions).toEqual([]);

    const res = await link(ada, 'auth0|ada');
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/account');
    expect(await identities(ada.userId)).toEqual([{ sub: 'auth0|ada', email: 'ada@acme.example' }]);
    // No account was made for the sub, and the browser stays signed in as Ada (no new session).
    expect(
      await t.database.db.selectFrom('ktrlplane.users').where('user_id', '=', 'auth0|ada').execute(),
    ).toEqual([]);
    expect(res.headers.get('Set-Cookie') ?? '').not.toMatch(/session=/);

    expect(await check()).toEqual({
      user_id: 'auth0|ada',
      scope_type: 'resource',
      scope_id: 'graph',
      // Owner and Data Owner of the project she created, as production assigns.
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

    // The provider verified the same address: the account is verified too.
    const account = await (await t.app.request('/account', { headers: asJson(ada) })).json();
    expect(account).toMatchObject({
      email_verified: true,
      identities: [{ sub: 'auth0|ada', email: 'ada@acme.example' }],
    });
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'actor_id', 'target_id'])
      .where('action', 'in', ['auth.identity_linked', 'auth.email_verified'])
      .orderBy('action')
      .execute();
    expect(audit).toEqual([
      { action: 'auth.email_verified', actor_id: ada.userId, target_id: ada.userId },
      { action: 'auth.identity_linked', actor_id: ada.userId, target_id: ada.userId },
    ]);

    // Signing in through the provider now signs in as the local account.
    const start = await t.app.request('/auth/oidc/start', { headers: BROWSER });
    const binding = (start.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    const callback = await provider.authorizeInBrowser(start.headers.get('Location') ?? '', 'auth0|ada');
    const signIn = await t.app.request(callback.pathname + callback.search, {
      headers: { ...BROWSER, Cookie: binding },
    });
    expect(signIn.status).toBe(303);
    const sessions = await t.database.db
      .selectFrom('ktrlplane.sessions')
      .select('user_id')
      .where('user_id', 'not in', [checker.userId])
      .execute();
    expect(sessions.every((row) => row.user_id === ada.userId)).toBe(true);
    // And so does a bearer JWT for the API.
    const jwt = await provider.userAccessToken('auth0|ada');
    const me = await t.app.request('/api/v1/permissions/check?scopeType=resource&scopeId=graph', {
      headers: bearer(jwt),
    });
    expect((await me.json()).permissions).toContain('manage_access');
  });

  it('answers 409 for a sub linked to another account, or one that has its own account here', async () => {
    provider.accounts.set('auth0|shared', { email: 'shared@example.test', name: 'Shared' });
    const first = await signUpUser(t, 'first@example.test');
    const second = await signUpUser(t, 'second@example.test');
    expect((await link(first, 'auth0|shared')).status).toBe(303);
    const taken = await link(second, 'auth0|shared');
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain('already linked to another account');
    expect(await identities(second.userId)).toEqual([]);

    // An identity that signed in before has its own account (and assignments): not linkable.
    provider.accounts.set('auth0|own', { email: 'own@example.test', name: 'Own' });
    const start = await t.app.request('/auth/oidc/start', { headers: BROWSER });
    const binding = (start.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    const callback = await provider.authorizeInBrowser(start.headers.get('Location') ?? '', 'auth0|own');
    await t.app.request(callback.pathname + callback.search, { headers: { ...BROWSER, Cookie: binding } });
    const own = await link(second, 'auth0|own');
    expect(own.status).toBe(409);
    expect(await own.text()).toContain('has its own account here');
  });

  it('refuses to complete a link when another account is signed in on the browser by then', async () => {
    const ada = await signUpUser(t, 'ada@example.test');
    const bob = await signUpUser(t, 'bob@example.test');
    const res = await link(ada, 'auth0|someone', bob.cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('no longer signed in');
    expect(await identities(ada.userId)).toEqual([]);
    expect(await identities(bob.userId)).toEqual([]);
  });

  it('starts a link only by POST from the browser session, never with an API token', async () => {
    const ada = await signUpUser(t, 'ada@example.test');
    const token = await apiTokenFor(t, ada);
    const viaToken = await t.app.request('/auth/oidc/link', {
      method: 'POST',
      headers: { ...bearer(token), Origin: ORIGIN, ...BROWSER },
    });
    expect(viaToken.status).toBeGreaterThanOrEqual(401);
    expect(viaToken.status).toBeLessThanOrEqual(403);
    expect(await t.database.db.selectFrom('ktrlplane.oidc_logins').selectAll().execute()).toEqual([]);
    const viaGet = await t.app.request('/auth/oidc/link', { headers: as(ada, BROWSER) });
    expect(viaGet.status).toBe(404);
    const crossSite = await t.app.request('/auth/oidc/link', {
      method: 'POST',
      headers: { Cookie: ada.cookie, Origin: 'https://evil.example', ...BROWSER },
    });
    expect(crossSite.status).toBe(403);
  });

  it('unlinks (audited) while the account has a password, and refuses when it has none', async () => {
    provider.accounts.set('auth0|cleo', { email: 'cleo@example.test', name: 'Cleo' });
    const cleo = await signUpUser(t, 'cleo@example.test');
    expect((await link(cleo, 'auth0|cleo')).status).toBe(303);
    const page = await (await t.app.request('/account', { headers: as(cleo, BROWSER) })).text();
    expect(page).toContain('auth0|cleo');
    expect(page).toContain('action="/account/identities/unlink"');

    const unknown = await t.app.request('/account/identities/unlink', {
      method: 'POST',
      headers: asJson(cleo),
      body: JSON.stringify({ sub: 'auth0|someone-else' }),
    });
    expect(unknown.status).toBe(404);
    const res = await t.app.request('/account/identities/unlink', {
      method: 'POST',
      headers: { ...as(cleo), 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN },
      body: 'sub=auth0%7Ccleo',
    });
    expect(res.status).toBe(303);
    expect(await identities(cleo.userId)).toEqual([]);
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select(['action', 'changes'])
      .where('action', '=', 'auth.identity_unlinked')
      .execute();
    expect(audit).toHaveLength(1);

    // Without a password, unlinking would leave no way in: refused.
    expect((await link(cleo, 'auth0|cleo')).status).toBe(303);
    await t.database.db
      .deleteFrom('ktrlplane.local_credentials')
      .where('user_id', '=', cleo.userId)
      .execute();
    const refused = await t.app.request('/account/identities/unlink', {
      method: 'POST',
      headers: asJson(cleo),
      body: JSON.stringify({ sub: 'auth0|cleo' }),
    });
    expect(refused.status).toBe(409);
    expect(await identities(cleo.userId)).toHaveLength(1);
  });
});
