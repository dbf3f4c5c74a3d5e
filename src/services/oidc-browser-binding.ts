import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config.ts';
import { randomToken, sha256Hex } from '../lib/crypto.ts';

/**
 * Binds a started OIDC sign-in to the browser that started it (login CSRF, issue 15 finding 3).
 * Without it, the state lives only on the server, so an attacker can start a sign-in, stop before
 * the callback and hand the callback URL to a victim, whose browser then signs in as the attacker.
 *
 * The start sets a random value in an HttpOnly, SameSite=Lax cookie (Lax: the provider sends the
 * browser back with a top-level GET, which carries Lax cookies) and stores only its SHA-256 with the
 * state; the callback must present the value. The cookie is `__Host-oidc_login` (Secure) on an https
 * base URL, like the session cookie. One value per browser, reused while it lives, so sign-ins
 * started in two tabs both complete.
 */
export const BROWSER_BINDING_TTL_SECONDS = 10 * 60;
const VALUE = /^[A-Za-z0-9_-]{43}$/;

function isHttps(config: Pick<Config, 'BASE_URL'>): boolean {
  return config.BASE_URL.startsWith('https://');
}

export function browserBindingCookieName(config: Pick<Config, 'BASE_URL'>): string {
  return isHttps(config) ? '__Host-oidc_login' : 'oidc_login';
}

/** The binding value this browser presents, if any (malformed values count as none). */
export function readBrowserBinding(c: Context, config: Pick<Config, 'BASE_URL'>): string | null {
  const value = getCookie(c, browserBindingCookieName(config));
  return value && VALUE.test(value) ? value : null;
}

/** Sets (or refreshes) the browser's binding cookie and answers the hash to store with the state. */
export async function bindBrowser(c: Context, config: Pick<Config, 'BASE_URL'>): Promise<string> {
  const value = readBrowserBinding(c, config) ?? randomToken();
  setCookie(c, browserBindingCookieName(config), value, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isHttps(config),
    maxAge: BROWSER_BINDING_TTL_SECONDS,
  });
  return sha256Hex(value);
}

export async function browserBindingHash(value: string | null): Promise<string | null> {
  return value ? sha256Hex(value) : null;
}
