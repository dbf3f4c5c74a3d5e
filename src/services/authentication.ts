import type { Context } from 'hono';
import { findActiveApiToken, touchApiToken } from '../db/api-tokens.repository.ts';
import { findSessionUser, touchSession } from '../db/sessions.repository.ts';
import type { User } from '../db/types.ts';
import type { AppDeps } from '../lib/app-env.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { upsertOidcUser, verifyAccessToken } from './oidc.ts';
import type { Principal } from './principal.ts';
import { readSessionToken } from './sessions.ts';

/** API tokens carry this prefix, so a bearer value can be told apart from an OIDC JWT at a glance. */
export const API_TOKEN_PREFIX = 'kpt_';
/** A session's last-seen time is written at most this often. */
const SESSION_TOUCH_MS = 5 * 60_000;
/** An API token's last-used time is written at most this often. */
const TOKEN_TOUCH_MS = 60_000;

function userPrincipal(
  user: Pick<User, 'user_id' | 'email' | 'name' | 'kind' | 'is_platform_admin'>,
  via: Principal['via'],
): Principal {
  return {
    userId: user.user_id,
    email: user.email,
    name: user.name,
    kind: user.kind,
    isPlatformAdmin: user.is_platform_admin,
    via,
  };
}

/**
 * A bearer credential: an API token (kpt_…) or, when OIDC is configured, a JWT from the issuer.
 * Answers null when the credential is invalid, expired or revoked.
 */
export async function principalFromBearer(deps: AppDeps, credential: string): Promise<Principal | null> {
  const now = deps.clock.now();
  if (credential.startsWith(API_TOKEN_PREFIX)) {
    const found = await findActiveApiToken(deps.db, await sha256Hex(credential), now);
    if (!found) return null;
    // Last use is recorded at most once a minute; most requests skip the write entirely.
    if (!found.token.last_used_at || now.getTime() - found.token.last_used_at.getTime() > TOKEN_TOUCH_MS) {
      await touchApiToken(deps.db, found.token.token_id, now);
    }
    const principal = userPrincipal(found.user, 'api-token');
    principal.token = {
      tokenId: found.token.token_id,
      scopeType: found.token.scope_type,
      scopeId: found.token.scope_id,
      access: found.token.access,
    };
    return principal;
  }
  const identity = await verifyAccessToken(deps.config, credential, now);
  if (!identity) return null;
  const user = await upsertOidcUser(deps.db, identity, now);
  return userPrincipal(user, 'oidc');
}

/** The browser session named by the request's cookie, or null. */
export async function principalFromSession(c: Context, deps: AppDeps): Promise<Principal | null> {
  const token = readSessionToken(c, deps.config);
  if (!token) return null;
  const now = deps.clock.now();
  const sessionHash = await sha256Hex(token);
  const found = await findSessionUser(deps.db, sessionHash, now);
  if (!found) return null;
  if (now.getTime() - found.lastSeenAt.getTime() > SESSION_TOUCH_MS)
    await touchSession(deps.db, sessionHash, now);
  const principal = userPrincipal(found.user, 'session');
  principal.sessionHash = sessionHash;
  return principal;
}
