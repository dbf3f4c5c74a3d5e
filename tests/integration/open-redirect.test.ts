import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { safeNext } from '../../src/lib/forms.tsx';
import { ORIGIN, signUpUser } from '../helpers/fixtures.ts';
import { startOidcProvider, WEB_CLIENT } from '../helpers/oidc-provider.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * Open redirects through `next` (issue 15, finding 6): every known way to make a "local path"
 * leave the site, sent through each place that redirects to `next` — sign-in (303 and htmx's
 * HX-Redirect), sign-up, the signed-in visit to /auth/login, and the OIDC round trip.
 */
const BYPASSES = [
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '/%09/evil.example',
  '/%0a/evil.example',
  '//evil.example',
  '///evil.example',
  '/\\evil.example',
  '\\/evil.example',
  '/\\/evil.example',
  'https://evil.example',
  'http:evil.example',
  'http:/evil.example',
  '/%2f%2fevil.example',
  '/%2F/evil.example',
  '/%5c%5cevil.example',
  ' /evil.example',
  '/ /evil.example',
  'javascript:alert(1)',
  '/%0a',
  '/%0aSet-Cookie:%20x=1',
  '/\u3002evil.example',
  '\uff0f\uff0fevil.example',
  '/\uff0fevil.example',
  '/\u200b/evil.example',
  '/\u2028/evil.example',
  '/\u202e/evil.example',
  '/a/../..//evil.example',
  '/./\\evil.example',
  '/%',
  '',
];

/** A victim's origin: where a browser that follows the answer must stay. */
const SITE = 'https://ktrlplane.test';

/**
 * Whether a browser following `location` stays on the site: the WHATWG parser is what browsers
 * run (it drops tabs and newlines, trims spaces, reads `\` as `/`), and the path must not turn
 * into `//host` for anything that decodes it once more.
 */
function staysOnSite(location: string): boolean {
  if (/[\p{Cc}\s\\]/u.test(location) || !location.startsWith('/')) return false;
  const resolved = new URL(location, SITE);
  return resolved.origin === SITE && !decodeURIComponent(resolved.pathname).startsWith('//');
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: ORIGIN };

describe('next targets cannot leave the site', () => {
  const t = useTestApp({ TRUST_PROXY: 'true' });

  it('safeNext keeps ordinary local paths with their query and fragment', () => {
    expect(safeNext('/projects/p1/logs?q=level%3Derror%20x#top')).toBe(
      '/projects/p1/logs?q=level%3Derror%20x#top',
    );
    expect(safeNext('/organizations/acme')).toBe('/organizations/acme');
    expect(safeNext('/\u00e9t\u00e9')).toBe('/%C3%A9t%C3%A9');
    for (const next of BYPASSES) expect(staysOnSite(safeNext(next)), JSON.stringify(next)).toBe(true);
  });

  it('sign-in (303 and HX-Redirect) and sign-up send every bypass to a local path', async () => {
    const user = await signUpUser(t, 'ada@example.com');
    for (const [index, next] of BYPASSES.entries()) {
      const body = new URLSearchParams({ email: user.email, password: user.password, next }).toString();
      const plain = await t.app.request('/auth/login', { method: 'POST', headers: FORM, body });
      expect(plain.status, JSON.stringify(next)).toBe(303);
      expect(staysOnSite(plain.headers.get('Location') ?? ''), JSON.stringify(next)).toBe(true);

      const htmx = await t.app.request('/auth/login', {
        method: 'POST',
        headers: { ...FORM, 'HX-Request': 'true' },
        body,
      });
      expect(htmx.status, JSON.stringify(next)).toBe(200);
      expect(staysOnSite(htmx.headers.get('HX-Redirect') ?? ''), JSON.stringify(next)).toBe(true);

      // Each sign-up from its own address, so no per-IP sign-up limit gets in the way.
      const signup = await t.app.request('/auth/signup', {
        method: 'POST',
        headers: { ...FORM, 'X-Forwarded-For': `198.51.100.${index + 1}` },
        body: new URLSearchParams({
          email: `user${index}@example.com`,
          name: 'User',
          password: 'correct horse battery staple',
          next,
        }).toString(),
      });
      expect(signup.status, JSON.stringify(next)).toBe(303);
      expect(staysOnSite(signup.headers.get('Location') ?? ''), JSON.stringify(next)).toBe(true);
    }
  });

  it('a signed-in visit to /auth/login?next= redirects locally and never answers 500', async () => {
    const user = await signUpUser(t, 'bob@example.com');
    for (const next of BYPASSES) {
      const res = await t.app.request(`/auth/login?next=${encodeURIComponent(next)}`, {
        headers: { Cookie: user.cookie },
      });
      expect(res.status, JSON.stringify(next)).toBe(303);
      expect(staysOnSite(res.headers.get('Location') ?? ''), JSON.stringify(next)).toBe(true);
    }
    // Raw (not re-encoded) escapes in the query, as an attacker's link would carry them.
    for (const query of [
      'next=/%0a',
      'next=/%0d%0aSet-Cookie:%20x=1',
      'next=/%',
      'next=%2F%09%2Fevil.example',
    ]) {
      const signedIn = await t.app.request(`/auth/login?${query}`, { headers: { Cookie: user.cookie } });
      expect(signedIn.status, query).toBe(303);
      expect(signedIn.headers.get('Location')).toBe('/');
      expect(signedIn.headers.get('Set-Cookie')).toBeNull();
      for (const page of ['/auth/login', '/auth/signup']) {
        const anonymous = await t.app.request(`${page}?${query}`);
        expect(anonymous.status, `${page}?${query}`).toBe(200);
      }
    }
  });
});

describe('next targets of the OIDC sign-in cannot leave the site', async () => {
  const BASE_URL = 'http://localhost';
  const provider = await startOidcProvider({ baseUrl: BASE_URL });
  afterAll(() => provider.close());
  const t = useTestApp({
    BASE_URL,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: WEB_CLIENT.id,
    OIDC_CLIENT_SECRET: WEB_CLIENT.secret,
  });
  // The provider stamps tokens with the real time; the app's clock starts from there.
  beforeEach(() => t.clock.set(new Date()));
  const BROWSER = { Accept: 'text/html,application/xhtml+xml' };

  async function start(next: string) {
    const res = await t.app.request(`/auth/oidc/start?next=${encodeURIComponent(next)}`, {
      headers: BROWSER,
    });
    expect(res.status, JSON.stringify(next)).toBe(302);
    const cookie = (res.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    return { authorization: res.headers.get('Location') ?? '', cookie };
  }

  it('stores only a local path at the start, for every bypass', async () => {
    for (const next of BYPASSES) {
      await start(next);
      const rows = await t.database.db.selectFrom('ktrlplane.oidc_logins').select('return_to').execute();
      const stored = (JSON.parse(rows.at(-1)?.return_to ?? '{}') as { next?: string }).next ?? '';
      expect(staysOnSite(stored), JSON.stringify(next)).toBe(true);
      await t.database.db.deleteFrom('ktrlplane.oidc_logins').execute();
    }
  });

  it('the callback redirects to a local path after a full round trip', async () => {
    for (const [index, next] of [
      '/\t/evil.example',
      '/%2f%2fevil.example',
      '/a/../..//evil.example',
    ].entries()) {
      const { authorization, cookie } = await start(next);
      const callback = await provider.authorizeInBrowser(authorization, `auth0|user${index}`);
      const res = await t.app.request(callback.pathname + callback.search, {
        headers: { ...BROWSER, ...(cookie ? { Cookie: cookie } : {}) },
      });
      expect(res.status, JSON.stringify(next)).toBe(303);
      expect(res.headers.get('Location')).toBe('/');
    }
  });
});
