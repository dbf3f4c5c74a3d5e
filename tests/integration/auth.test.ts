import { describe, expect, it } from 'vitest';
import { ORIGIN, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json', Origin: ORIGIN };

describe('local accounts', () => {
  const t = useTestApp();

  it('signs up the first user as platform admin, unverified, and signs in with a session cookie', async () => {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'Ada@Example.com', name: 'Ada', password: 'a long passphrase' }),
    });
    // Sign-up answers alike for a free and a taken address, so it does not sign in.
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'verification_sent' });
    expect(res.headers.get('Set-Cookie')).toBeNull();
    const created = await t.database.db
      .selectFrom('ktrlplane.users')
      .select(['email', 'name', 'is_platform_admin', 'email_verified_at'])
      .executeTakeFirstOrThrow();
    expect(created).toEqual({
      email: 'ada@example.com',
      name: 'Ada',
      is_platform_admin: true,
      email_verified_at: null,
    });
    const login = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'ada@example.com', password: 'a long passphrase' }),
    });
    expect(login.status).toBe(200);
    const body = await login.json();
    expect(body.user).toMatchObject({ email: 'ada@example.com', name: 'Ada', is_platform_admin: true });
    expect(JSON.stringify(body)).not.toContain('pbkdf2');
    const cookie = login.headers.get('Set-Cookie') ?? '';
    expect(cookie).toMatch(/^session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
    const second = await signUpUser(t, 'bob@example.com');
    const row = await t.database.db
      .selectFrom('ktrlplane.users')
      .select('is_platform_admin')
      .where('user_id', '=', second.userId)
      .executeTakeFirstOrThrow();
    expect(row.is_platform_admin).toBe(false);
  });

  it('rejects a short password and a bad email with field errors, and answers a taken email like a free one', async () => {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'nope', name: 'X', password: 'short' }),
    });
    expect(res.status).toBe(422);
    const pointers = (await res.json()).errors.map((e: { pointer: string }) => e.pointer);
    expect(pointers).toEqual(['/email', '/password']);
    await signUpUser(t, 'taken@example.com');
    const again = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'TAKEN@example.com', name: 'X', password: 'a long passphrase' }),
    });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ status: 'verification_sent' });
  });

  it('signs in with the right password and refuses a wrong one without saying whether the email exists', async () => {
    const user = await signUpUser(t, 'carol@example.com');
    const ok = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('Set-Cookie')).toMatch(/^session=/);
    const wrong = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: user.email, password: 'not it at all' }),
    });
    const unknown = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'nobody@example.com', password: 'not it at all' }),
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect((await wrong.json()).detail).toBe((await unknown.json()).detail);
  });

  it('rotates the session on sign-in: the old cookie stops working', async () => {
    const user = await signUpUser(t, 'dan@example.com');
    const res = await t.app.request('/auth/login', {
      method: 'POST',
      headers: { ...JSON_HEADERS, Cookie: user.cookie },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(res.status).toBe(200);
    const fresh = (res.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    expect(fresh).not.toBe(user.cookie);
    const sessions = await t.database.db
      .selectFrom('ktrlplane.sessions')
      .select('session_hash')
      .where('user_id', '=', user.userId)
      .execute();
    expect(sessions).toHaveLength(1);
  });

  it('throttles sign-in with 429 and Retry-After (login-throttle.test.ts has the whole policy)', async () => {
    const user = await signUpUser(t, 'eve@example.com');
    for (let i = 0; i < 5; i++) {
      const res = await t.app.request('/auth/login', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ email: user.email, password: 'wrong password' }),
      });
      expect(res.status).toBe(401);
    }
    const blocked = await t.app.request('/auth/login', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('Retry-After'))).toBeGreaterThan(0);
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const user = await signUpUser(t, 'fay@example.com');
    const res = await t.app.request('/auth/logout', {
      method: 'POST',
      headers: { Cookie: user.cookie, Origin: ORIGIN, Accept: 'application/json' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Set-Cookie')).toMatch(/^session=;/);
    const sessions = await t.database.db
      .selectFrom('ktrlplane.sessions')
      .selectAll()
      .where('user_id', '=', user.userId)
      .execute();
    expect(sessions).toHaveLength(0);
  });

  it('refuses a cookie-authenticated write without this site’s Origin (CSRF)', async () => {
    const user = await signUpUser(t, 'gus@example.com');
    const foreign = await t.app.request('/auth/logout', {
      method: 'POST',
      headers: { Cookie: user.cookie, Origin: 'https://evil.example', Accept: 'application/json' },
    });
    expect(foreign.status).toBe(403);
    const missing = await t.app.request('/auth/logout', {
      method: 'POST',
      headers: { Cookie: user.cookie, Accept: 'application/json' },
    });
    expect(missing.status).toBe(403);
  });

  it('renders the sign-up form again with errors and the typed values for a browser', async () => {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN, 'HX-Request': 'true' },
      body: 'email=ada%40example.com&name=Ada&password=short',
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('value="ada@example.com"');
    expect(html).toContain('use at least 10 characters');
    expect(html).not.toContain('<html');
  });

  it('redirects a browser form sign-up to the check-your-inbox page with a 303', async () => {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN },
      body: 'email=hal%40example.com&name=Hal&password=a+long+passphrase&next=%2Forganizations',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/auth/signup/check-email');
    const page = await t.app.request('/auth/signup/check-email');
    expect(await page.text()).toContain('Check your inbox');
  });
});

describe('sign-up modes', () => {
  const t = useTestApp({ SIGNUP_MODE: 'invite' });

  it('refuses sign-up without an invitation in invite mode', async () => {
    const res = await t.app.request('/auth/signup', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'x@example.com', name: 'X', password: 'a long passphrase' }),
    });
    expect(res.status).toBe(403);
  });
});
