import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { deleteSession, insertSession } from '../db/sessions.repository.ts';
import type { Database } from '../db/types.ts';
import type { AppDeps, AppEnv } from '../lib/app-env.ts';
import { clientIp } from '../lib/client-ip.ts';
import { randomToken, sha256Hex } from '../lib/crypto.ts';

/**
 * Browser sessions: a random token in a cookie, stored only as its SHA-256 in Postgres with an
 * expiry. The cookie is `__Host-session` (Secure) when the base URL is https; browsers refuse
 * `__Host-` and `Secure` cookies over plain http, so a local http base URL gets a plain `session`
 * cookie with the same flags minus Secure.
 */
export function sessionCookieName(config: Pick<Config, 'BASE_URL'>): string {
  return isHttps(config) ? '__Host-session' : 'session';
}

function isHttps(config: Pick<Config, 'BASE_URL'>): boolean {
  return config.BASE_URL.startsWith('https://');
}

export function readSessionToken(c: Context, config: Pick<Config, 'BASE_URL'>): string | undefined {
  return getCookie(c, sessionCookieName(config));
}

/** Starts a session for `userId` and sets its cookie; answers the session's hash. */
export async function startSession(
  c: Context,
  db: Kysely<Database>,
  config: Pick<Config, 'BASE_URL' | 'SESSION_TTL_HOURS'>,
  userId: string,
  meta: { now: Date; ip: string | null; userAgent: string | null },
): Promise<string> {
  const token = randomToken();
  const sessionHash = await sha256Hex(token);
  const expiresAt = new Date(meta.now.getTime() + config.SESSION_TTL_HOURS * 3_600_000);
  await insertSession(db, {
    session_hash: sessionHash,
    user_id: userId,
    created_at: meta.now,
    expires_at: expiresAt,
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 500) ?? null,
  });
  setCookie(c, sessionCookieName(config), token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isHttps(config),
    expires: expiresAt,
  });
  return sessionHash;
}

/**
 * Signs `userId` in on this browser after a successful sign-in (password, OIDC, sign-up). A
 * sign-in always gets a fresh session (rotation): the session the browser came with, if any, ends
 * here, so a session id planted before sign-in is worth nothing after it. Answers the new
 * session's hash.
 */
export async function beginSignedInSession(
  c: Context<AppEnv>,
  deps: Pick<AppDeps, 'db' | 'config' | 'clock'>,
  userId: string,
): Promise<string> {
  const previous = c.get('principal');
  if (previous?.sessionHash) await deleteSession(deps.db, previous.sessionHash);
  return startSession(c, deps.db, deps.config, userId, {
    now: deps.clock.now(),
    ip: clientIp(c),
    userAgent: c.req.header('User-Agent') ?? null,
  });
}

export function clearSessionCookie(c: Context, config: Pick<Config, 'BASE_URL'>): void {
  deleteCookie(c, sessionCookieName(config), { path: '/', secure: isHttps(config) });
}
