import { Hono } from 'hono';
import { decodeJwt, generateKeyPair, importJWK, SignJWT } from 'jose';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { insertInvitation } from '../../src/db/invitations.repository.ts';
import type { AppEnv } from '../../src/lib/app-env.ts';
import { currentPrincipal } from '../../src/lib/auth-middleware.ts';
import { randomToken, sha256Hex } from '../../src/lib/crypto.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { upsertOidcUser, verifyAccessToken } from '../../src/services/oidc.ts';
import { createOrgFor, signUpUser } from '../helpers/fixtures.ts';
import {
  API_AUDIENCE,
  MACHINE_CLIENT,
  OTHER_AUDIENCE,
  startOidcProvider,
  WEB_CLIENT,
} from '../helpers/oidc-provider.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * OIDC against a real provider (oidc-provider) on loopback: bearer JWTs on /api/v1 and the
 * browser's authorization-code + PKCE sign-in. The provider has to run before the app's config is
 * loaded, because its issuer URL carries the port it got.
 */
const BASE_URL = 'http://localhost';
const provider = await startOidcProvider({ baseUrl: BASE_URL });
afterAll(() => provider.close());

const BROWSER = { Accept: 'text/html,application/xhtml+xml' };

// Probes composed into the real app, so each request goes through the real authentication.
const probeRoutes = new Hono<AppEnv>()
  .get('/api/v1/probe-whoami', (c) => c.json(currentPrincipal(c)))
  .get('/probe-whoami', (c) => c.json(currentPrincipal(c)));

describe('OIDC', () => {
  const t = useTestApp({
    BASE_URL,
    OIDC_ISSUER: provider.issuer,
    OIDC_AUDIENCE: API_AUDIENCE,
    OIDC_CLIENT_ID: WEB_CLIENT.id,
    OIDC_CLIENT_SECRET: WEB_CLIENT.secret,
  });
  const app = () => createApp(t.deps, { extraRoutes: [probeRoutes] });
  // The provider stamps tokens with the real time; the app's clock starts from there.
  beforeEach(() => t.clock.set(new Date()));

  const whoami = (token: string) =>
    app().request('/api/v1/probe-whoami', { headers: { Authorization: `Bearer ${token}` } });

  async function expectRefused(res: Response) {
    expect(res.status).toBe(401);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    expect((await res.json()).status).toBe(401);
  }

  describe('bearer tokens on /api/v1', () => {
    it('accepts a user access token and creates, then updates, the user from its claims', async () => {
      provider.accounts.set('auth0|alice', { email: 'Alice@Example.test', name: 'Alice' });
      const res = await whoami(await provider.userAccessToken('auth0|alice'));
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        userId: 'auth0|alice',
        email: 'alice@example.test',
        name: 'Alice',
        kind: 'user',
        via: 'oidc',
      });

      provider.accounts.set('auth0|alice', { email: 'alice@example.test', name: 'Alice Liddell' });
      expect((await whoami(await provider.userAccessToken('auth0|alice'))).status).toBe(200);
      const rows = await t.database.db
        .selectFrom('ktrlplane.users')
        .select(['user_id', 'email', 'name', 'kind'])
        .execute();
      expect(rows).toEqual([
        { user_id: 'auth0|alice', email: 'alice@example.test', name: 'Alice Liddell', kind: 'user' },
      ]);
    });

    it('treats a client-credentials token as the service account <client_id>@clients', async () => {
      const token = await provider.clientCredentialsToken();
      expect(decodeJwt(token).gty).toBe('client-credentials');
      const res = await whoami(token);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        userId: `${MACHINE_CLIENT.id}@clients`,
        kind: 'service',
        email: null,
        via: 'oidc',
      });
      const row = await t.database.db
        .selectFrom('ktrlplane.users')
        .select('kind')
        .where('user_id', '=', `${MACHINE_CLIENT.id}@clients`)
        .executeTakeFirstOrThrow();
      expect(row.kind).toBe('service');
    });

    it('refuses tokens the provider issued for another audience', async () => {
      await expectRefused(await whoami(await provider.clientCredentialsToken(OTHER_AUDIENCE)));
      await expectRefused(await whoami(await provider.userAccessToken('auth0|alice', OTHER_AUDIENCE)));
      expect(await t.database.db.selectFrom('ktrlplane.users').selectAll().execute()).toEqual([]);
    });

    it('refuses an expired token (minted with the provider two hours in the past)', async () => {
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 2 * 3_600_000 });
      let token: string;
      try {
        token = await provider.clientCredentialsToken();
      } finally {
        vi.useRealTimers();
      }
      expect((decodeJwt(token).exp ?? 0) * 1000).toBeLessThan(Date.now() - 60_000);
      await expectRefused(await whoami(token));
    });

    it('allows 60 s of clock skew past the expiry, and no more, at the injected time', async () => {
      const token = await provider.clientCredentialsToken();
      const exp = decodeJwt(token).exp ?? 0;
      const at = (seconds: number) => new Date((exp + seconds) * 1000);
      expect(await verifyAccessToken(t.deps.config, token, at(-1))).toMatchObject({ kind: 'service' });
      expect(await verifyAccessToken(t.deps.config, token, at(59))).toMatchObject({ kind: 'service' });
      expect(await verifyAccessToken(t.deps.config, token, at(61))).toBeNull();
    });

    it('refuses garbage, a token signed with another key, and a token from another issuer', async () => {
      await expectRefused(await whoami('not-a-jwt'));
      await expectRefused(await whoami('eyJhbGciOiJSUzI1NiJ9.e30.c2ln'));

      // Same claims and key id as the provider's tokens, but not its signature.
      const real = decodeJwt(await provider.userAccessToken('auth0|mallory'));
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT({ ...real, sub: 'auth0|admin' })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'at+jwt' })
        .sign(privateKey);
      await expectRefused(await whoami(forged));

      // A second provider that signs with the very same key: only the issuer differs.
      const twin = await startOidcProvider({ baseUrl: BASE_URL, signingKey: provider.signingKey });
      try {
        const token = await twin.clientCredentialsToken();
        expect(decodeJwt(token).aud).toBe(API_AUDIENCE);
        await expectRefused(await whoami(token));
      } finally {
        await twin.close();
      }
      // An HS256 token keyed with the provider's public modulus must not pass as RS256 either.
      const hmacKey = await importJWK({ kty: 'oct', k: provider.signingKey.n ?? '' }, 'HS256');
      const confused = await new SignJWT({ ...real })
        .setProtectedHeader({ alg: 'HS256', kid: 'test-key-1' })
        .sign(hmacKey);
      await expectRefused(await whoami(confused));
    });

    it('fetches the JWKS once and verifies later tokens from the cache', async () => {
      expect((await whoami(await provider.clientCredentialsToken())).status).toBe(200);
      const fetches = () => provider.requests.filter((path) => path === '/jwks').length;
      const before = fetches();
      for (let i = 0; i < 3; i++) {
        expect((await whoami(await provider.clientCredentialsToken())).status).toBe(200);
      }
      expect(fetches()).toBe(before);
      expect(before).toBe(1);
    });
  });

  describe('browser sign-in (authorization code + PKCE)', () => {
    /** The browser-binding cookie the last start set (the browser that started the sign-in). */
    let binding = '';
    async function start(query = '') {
      const res = await app().request(`/auth/oidc/start${query}`, { headers: BROWSER });
      expect(res.status).toBe(302);
      binding = (res.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
      return new URL(res.headers.get('Location') ?? '');
    }
    /** Headers of the browser that started the sign-in (its binding cookie, plus any others). */
    const inBrowser = (extraCookie = '') => ({
      ...BROWSER,
      Cookie: [binding, extraCookie].filter(Boolean).join('; '),
    });

    /** Runs the whole round trip and answers ktrlplane's response to the callback. */
    async function signInThroughProvider(
      accountId: string,
      query = '',
      headers: Record<string, string> = {},
    ) {
      const callback = await provider.authorizeInBrowser((await start(query)).href, accountId);
      expect(callback.origin + callback.pathname).toBe(`${BASE_URL}/auth/oidc/callback`);
      return app().request(callback.pathname + callback.search, {
        headers: { ...headers, ...inBrowser(headers.Cookie) },
      });
    }

    it('sends the browser to the provider with state, nonce and an S256 challenge, keeping next', async () => {
      const location = await start('?next=%2Fprojects&invitation=not%20a%20token');
      expect(location.origin + location.pathname).toBe(`${provider.issuer}/auth`);
      const params = Object.fromEntries(location.searchParams);
      expect(params).toMatchObject({
        response_type: 'code',
        client_id: WEB_CLIENT.id,
        redirect_uri: `${BASE_URL}/auth/oidc/callback`,
        scope: 'openid email profile',
        code_challenge_method: 'S256',
      });
      expect(params.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const row = await t.database.db
        .selectFrom('ktrlplane.oidc_logins')
        .selectAll()
        .executeTakeFirstOrThrow();
      expect(row.state).toBe(params.state);
      expect(row.nonce).toBe(params.nonce);
      expect(row.code_verifier).not.toBe(params.code_challenge);
      expect(JSON.parse(row.return_to)).toEqual({ next: '/projects', invitation: null });
      expect(row.expires_at.getTime() - t.clock.now().getTime()).toBe(10 * 60_000);
    });

    it('keeps only a local next: another origin falls back to /', async () => {
      await start('?next=https%3A%2F%2Fevil.example%2F');
      const row = await t.database.db
        .selectFrom('ktrlplane.oidc_logins')
        .select('return_to')
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.return_to).next).toBe('/');
    });

    it('signs the user in: user from the claims, a rotated session, an audit event, then next', async () => {
      provider.accounts.set('auth0|bob', { email: 'bob@example.test', name: 'Bob' });
      const local = await signUpUser(t, 'someone@example.test');
      const res = await signInThroughProvider('auth0|bob', '?next=%2Fprojects', { Cookie: local.cookie });
      expect(res.status).toBe(303);
      expect(res.headers.get('Location')).toBe('/projects');
      const cookie = (res.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
      expect(cookie).toMatch(/^session=[A-Za-z0-9_-]{40,}$/);

      const user = await t.database.db
        .selectFrom('ktrlplane.users')
        .select(['email', 'name', 'kind'])
        .where('user_id', '=', 'auth0|bob')
        .executeTakeFirstOrThrow();
      // The provider keeps email and name out of the ID token (code flow): they came from userinfo.
      expect(user).toEqual({ email: 'bob@example.test', name: 'Bob', kind: 'user' });
      const sessions = await t.database.db.selectFrom('ktrlplane.sessions').select('user_id').execute();
      // The local user's session the browser came with ended (rotation).
      expect(sessions).toEqual([{ user_id: 'auth0|bob' }]);
      const audit = await t.database.db
        .selectFrom('ktrlplane.audit_events')
        .select(['actor_id', 'target_id', 'changes'])
        .where('action', '=', 'auth.login')
        .execute();
      expect(audit).toEqual([
        { actor_id: 'auth0|bob', target_id: 'auth0|bob', changes: { method: { to: 'oidc' } } },
      ]);
      expect(await t.database.db.selectFrom('ktrlplane.oidc_logins').selectAll().execute()).toEqual([]);

      const me = await app().request('/probe-whoami', { headers: { Cookie: cookie } });
      expect(await me.json()).toMatchObject({ userId: 'auth0|bob', via: 'session' });
    });

    it('accepts the invitation the sign-in started with and lands on its organization', async () => {
      const owner = await signUpUser(t, 'owner@example.test');
      const org = await createOrgFor(t, owner, 'Acme');
      const token = randomToken();
      await insertInvitation(t.database.db, {
        token_hash: await sha256Hex(token),
        email: 'carol@example.test',
        role_id: ROLE.viewer,
        scope_type: 'organization',
        scope_id: org.org_id,
        org_id: org.org_id,
        invited_by: owner.userId,
        created_at: t.clock.now(),
        expires_at: new Date(t.clock.now().getTime() + 7 * 86_400_000),
      });
      provider.accounts.set('auth0|carol', { email: 'carol@example.test', name: 'Carol' });
      const res = await signInThroughProvider('auth0|carol', `?invitation=${token}`);
      expect(res.status).toBe(303);
      expect(res.headers.get('Location')).toBe(`/organizations/${org.org_id}`);
      const assignment = await t.database.db
        .selectFrom('ktrlplane.role_assignments')
        .select(['role_id', 'scope_id'])
        .where('user_id', '=', 'auth0|carol')
        .executeTakeFirstOrThrow();
      expect(assignment).toEqual({ role_id: ROLE.viewer, scope_id: org.org_id });
    });

    it('uses a state once: replaying the callback answers a page that says to start again', async () => {
      const callback = await provider.authorizeInBrowser((await start()).href, 'auth0|dora');
      const first = await app().request(callback.pathname + callback.search, { headers: inBrowser() });
      expect(first.status).toBe(303);
      const again = await app().request(callback.pathname + callback.search, { headers: inBrowser() });
      expect(again.status).toBe(400);
      const html = await again.text();
      expect(html).toContain('Start the sign-in again');
      expect(html).toContain('href="/auth/oidc/start"');
      expect(again.headers.get('Set-Cookie')).toBeNull();
    });

    it('refuses a state that expired after ten minutes, before talking to the provider', async () => {
      const state = (await start()).searchParams.get('state');
      t.clock.advance(10 * 60_000 + 1);
      const res = await app().request(`/auth/oidc/callback?code=whatever&state=${state}`, {
        headers: { Accept: 'application/json' },
      });
      expect(res.status).toBe(400);
      expect((await res.json()).detail).toMatch(/expired or was already used/);
    });

    it('shows a page with a way to try again when the user cancels at the provider', async () => {
      const authorization = await start('?next=%2Forganizations');
      const callback = await provider.authorizeInBrowser(authorization.href, 'auth0|eve', { abort: true });
      expect(callback.searchParams.get('error')).toBe('access_denied');
      const res = await app().request(callback.pathname + callback.search, { headers: inBrowser() });
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('access was denied or the sign-in was cancelled');
      expect(html).toContain('href="/auth/oidc/start?next=%2Forganizations"');
      expect(await t.database.db.selectFrom('ktrlplane.oidc_logins').selectAll().execute()).toEqual([]);
      expect(await t.database.db.selectFrom('ktrlplane.sessions').selectAll().execute()).toEqual([]);
    });

    it('refuses an ID token whose nonce is not the one this sign-in sent', async () => {
      const callback = await provider.authorizeInBrowser((await start()).href, 'auth0|gus');
      await t.database.db.updateTable('ktrlplane.oidc_logins').set({ nonce: 'another-nonce' }).execute();
      const res = await app().request(callback.pathname + callback.search, { headers: inBrowser() });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('could not be verified');
      expect(await t.database.db.selectFrom('ktrlplane.users').selectAll().execute()).toEqual([]);
    });

    it('redeems the code only with the PKCE verifier of this sign-in', async () => {
      const callback = await provider.authorizeInBrowser((await start()).href, 'auth0|hal');
      await t.database.db
        .updateTable('ktrlplane.oidc_logins')
        .set({ code_verifier: randomToken(48) })
        .execute();
      const res = await app().request(callback.pathname + callback.search, { headers: inBrowser() });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('did not accept the sign-in (invalid_grant)');
    });

    it('answers 502 with a way to try again when the provider cannot be reached', async () => {
      const unreachable = createApp({
        ...t.deps,
        config: { ...t.deps.config, OIDC_ISSUER: 'http://127.0.0.1:9/' },
      });
      const res = await unreachable.request('/auth/oidc/start?next=%2Fprojects', { headers: BROWSER });
      expect(res.status).toBe(502);
      const html = await res.text();
      expect(html).toContain('Try again in a moment');
      expect(html).toContain('href="/auth/oidc/start?next=%2Fprojects"');
      expect(t.logs.some((line) => line.msg === 'OIDC provider failure')).toBe(true);
    });

    it('does not take over the email of an account that verified it', async () => {
      await signUpUser(t, 'frank@example.test');
      provider.accounts.set('auth0|frank', { email: 'frank@example.test', name: 'Frank' });
      const res = await signInThroughProvider('auth0|frank');
      expect(res.status).toBe(409);
      expect(await res.text()).toContain('already exists here');
      expect(res.headers.get('Set-Cookie')).toBeNull();
    });

    it('refuses a callback opened in another browser: the attacker’s callback URL does not sign the victim in', async () => {
      provider.accounts.set('auth0|mallory', { email: 'mallory@example.test', name: 'Mallory' });
      const victim = await signUpUser(t, 'victim@example.test');
      // The victim's browser: no binding cookie, only its session, or its own binding and session.
      await start();
      const victimBinding = binding;
      for (const cookie of ['', victim.cookie, `${victimBinding}; ${victim.cookie}`]) {
        // The attacker starts a sign-in with their own account and stops before the callback.
        const callback = await provider.authorizeInBrowser((await start()).href, 'auth0|mallory');
        expect(binding).not.toBe(victimBinding);
        const res = await app().request(callback.pathname + callback.search, {
          headers: { ...BROWSER, ...(cookie ? { Cookie: cookie } : {}) },
        });
        expect(res.status).toBe(400);
        const html = await res.text();
        expect(html).toContain('started in another browser');
        expect(html).toContain('nobody was signed in');
        expect(res.headers.get('Set-Cookie')).toBeNull();
      }
      const sessions = await t.database.db.selectFrom('ktrlplane.sessions').select('user_id').execute();
      expect(sessions).toEqual([{ user_id: victim.userId }]);
      expect(
        await t.database.db.selectFrom('ktrlplane.users').where('user_id', '=', 'auth0|mallory').execute(),
      ).toEqual([]);
    });

    it('sets the binding cookie HttpOnly, SameSite=Lax, and __Host- with Secure on https', async () => {
      const res = await app().request('/auth/oidc/start', { headers: BROWSER });
      const plainCookie = res.headers.get('Set-Cookie') ?? '';
      expect(plainCookie).toMatch(
        /^oidc_login=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      const https = createApp({
        ...t.deps,
        config: { ...t.deps.config, BASE_URL: 'https://ktrlplane.test' },
      });
      const secure = await https.request('/auth/oidc/start', { headers: BROWSER });
      expect(secure.headers.get('Set-Cookie')).toMatch(
        /^__Host-oidc_login=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
      );
      // A browser that has one keeps it, so two sign-ins started in two tabs both complete.
      const value = plainCookie.split(';')[0] ?? '';
      const again = await app().request('/auth/oidc/start', { headers: { ...BROWSER, Cookie: value } });
      expect((again.headers.get('Set-Cookie') ?? '').split(';')[0]).toBe(value);
    });

    it('lets a provider-verified sign-in claim an address an unverified local account holds', async () => {
      const squatter = await signUpUser(t, 'newhire@corp.example', 'Squatter', { verified: false });
      provider.accounts.set('auth0|newhire', { email: 'newhire@corp.example', name: 'New Hire' });
      const res = await signInThroughProvider('auth0|newhire');
      expect(res.status).toBe(303);
      const users = await t.database.db
        .selectFrom('ktrlplane.users')
        .select(['user_id', 'email'])
        .select((eb) => eb('email_verified_at', 'is not', null).as('verified'))
        .orderBy('user_id')
        .execute();
      expect(users).toEqual([
        { user_id: 'auth0|newhire', email: 'newhire@corp.example', verified: true },
        { user_id: squatter.userId, email: null, verified: false },
      ]);
      const sessions = await t.database.db.selectFrom('ktrlplane.sessions').select('user_id').execute();
      expect(sessions).toEqual([{ user_id: 'auth0|newhire' }]);
      const released = await t.database.db
        .selectFrom('ktrlplane.audit_events')
        .select(['actor_id', 'target_id'])
        .where('action', '=', 'auth.email_released')
        .execute();
      expect(released).toEqual([{ actor_id: 'auth0|newhire', target_id: squatter.userId }]);
    });

    it('does not let a sign-in without email_verified claim an unverified account’s address', async () => {
      await signUpUser(t, 'ivy@example.test', 'Ivy', { verified: false });
      provider.accounts.set('auth0|ivy', { email: 'ivy@example.test', name: 'Ivy', emailVerified: false });
      const res = await signInThroughProvider('auth0|ivy');
      expect(res.status).toBe(303);
      const user = await t.database.db
        .selectFrom('ktrlplane.users')
        .select(['email', 'email_verified_at'])
        .where('user_id', '=', 'auth0|ivy')
        .executeTakeFirstOrThrow();
      // email_verified false: the address is not kept at all (it decides who grants reach).
      expect(user).toEqual({ email: null, email_verified_at: null });
    });

    it('keeps a verification while the address stays the same, even when a later token does not say email_verified', async () => {
      const identity = {
        userId: 'azure|jo',
        email: 'jo@example.test',
        emailVerified: true,
        name: 'Jo',
        kind: 'user' as const,
      };
      const first = await upsertOidcUser(t.database.db, identity, t.clock.now());
      expect(first.email_verified_at).toEqual(t.clock.now());
      t.clock.advance(60_000);
      const again = await upsertOidcUser(t.database.db, { ...identity, emailVerified: false }, t.clock.now());
      expect(again.email_verified_at).toEqual(first.email_verified_at);
      const moved = await upsertOidcUser(
        t.database.db,
        { ...identity, email: 'jo@new.example', emailVerified: false },
        t.clock.now(),
      );
      expect(moved.email_verified_at).toBeNull();
    });

    it('answers 404 when browser sign-in is not configured', async () => {
      const plain = createApp({
        ...t.deps,
        config: { ...t.deps.config, OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined },
      });
      expect((await plain.request('/auth/oidc/start', { headers: BROWSER })).status).toBe(404);
      expect((await plain.request('/auth/oidc/callback?code=x&state=y', { headers: BROWSER })).status).toBe(
        404,
      );
    });
  });
});
