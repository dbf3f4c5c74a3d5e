import type { Kysely } from 'kysely';
import {
  findApiTokenOfUser,
  insertApiToken,
  listApiTokensOfUser,
  revokeApiToken,
} from '../db/api-tokens.repository.ts';
import { resolveScopeChain } from '../db/scopes.repository.ts';
import type { ApiToken, Database, TokenAccess } from '../db/types.ts';
import { newBearerSecret, randomSuffix } from '../lib/crypto.ts';
import { notFound, unprocessable } from '../lib/errors.ts';
import type { CreateTokenInput } from '../schemas/tokens.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { API_TOKEN_PREFIX } from './authentication.ts';
import type { Principal } from './principal.ts';
import { type Action, authorize, effectiveActions } from './rbac.ts';
import { refuseApiToken, requireWritingCredential } from './token-limits.ts';

/**
 * Personal API tokens. Tenancy contract: a token belongs to one user, and every function here reads
 * or changes only tokens of `principal.userId` (the repository takes the user id second, the way
 * tenant repositories take an AuthorizedScope). A token's scope is checked with `authorize` when
 * the token is made, and limited again by rbac.ts on every request it makes. Tokens are managed
 * only through the user's own sign-in, never with an API token (token-limits.ts).
 *
 * Credential contract: the secret (`kpt_` + 32 random bytes, base64url) exists only in the answer
 * to the request that created it; the database keeps its SHA-256, and neither the secret nor the
 * hash ever appears in a list, an audit event or a log line.
 */

export type TokenStatus = 'active' | 'expired' | 'revoked';

/** A token as the API shows it: never the secret, never the hash. */
export interface TokenJson {
  token_id: string;
  name: string;
  scope_type: 'organization' | 'project' | null;
  scope_id: string | null;
  access: TokenAccess;
  status: TokenStatus;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** The answer to a successful create: the only time the secret is shown. */
export interface CreatedTokenJson {
  token: string;
  token_id: string;
  name: string;
  scope_type: 'organization' | 'project' | null;
  scope_id: string | null;
  access: TokenAccess;
  expires_at: Date | null;
  created_at: Date;
}

const CONTROL_PLANE_ACTIONS: readonly Action[] = [
  'read',
  'write',
  'delete',
  'manage_access',
  'manage_billing',
];
const DAY_MS = 24 * 60 * 60 * 1000;

export function tokenStatus(token: ApiToken, now: Date): TokenStatus {
  if (token.revoked_at) return 'revoked';
  if (token.expires_at && token.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

export function tokenJson(token: ApiToken, now: Date): TokenJson {
  return {
    token_id: token.token_id,
    name: token.name,
    scope_type: token.scope_type,
    scope_id: token.scope_id,
    access: token.access,
    status: tokenStatus(token, now),
    created_at: token.created_at,
    expires_at: token.expires_at,
    last_used_at: token.last_used_at,
    revoked_at: token.revoked_at,
  };
}

/** Token ids are `tok-` and lowercase letters and digits (older fixtures also use - and _). */
export function isTokenId(value: string): boolean {
  return /^tok-[a-z0-9_-]{1,64}$/.test(value);
}

/** The calling token's own row, when the caller came with an API token. */
async function callerToken(db: Kysely<Database>, principal: Principal): Promise<ApiToken | undefined> {
  if (!principal.token) return undefined;
  return findApiTokenOfUser(db, principal.userId, principal.token.tokenId);
}

/**
 * Creates a personal token for `principal` and records `token.created` in the same transaction.
 * The scope must be one the caller can read (404 otherwise, like any unknown id). Only the user's
 * own sign-in may do it, never an API token (403, token-limits.ts).
 */
export async function createApiToken(
  db: Kysely<Database>,
  principal: Principal,
  input: CreateTokenInput,
  actor: AuditActor,
  now: Date,
): Promise<CreatedTokenJson> {
  refuseApiToken(principal, 'API tokens');
  const scopeType = input.scope_type ?? null;
  const scopeId = scopeType ? (input.scope_id ?? null) : null;
  let expiresAt: Date | null = null;
  if (input.expires_at) {
    if (input.expires_at.getTime() <= now.getTime())
      throw unprocessable([{ pointer: '/expires_at', message: 'choose a time in the future' }]);
    expiresAt = input.expires_at;
  } else if (input.expires_in_days) {
    expiresAt = new Date(now.getTime() + input.expires_in_days * DAY_MS);
  }

  let orgId: string | null = null;
  if (scopeType && scopeId) {
    const scope = await authorize(db, principal, 'read', scopeType, scopeId, now);
    orgId = scope.orgId;
  }

  const { secret, hash } = await newBearerSecret(API_TOKEN_PREFIX);
  const row: ApiToken = {
    token_id: `tok-${randomSuffix(16)}`,
    token_hash: hash,
    user_id: principal.userId,
    name: input.name,
    scope_type: scopeType,
    scope_id: scopeId,
    access: input.access,
    created_at: now,
    expires_at: expiresAt,
    last_used_at: null,
    revoked_at: null,
  };
  await db.transaction().execute(async (trx) => {
    await insertApiToken(trx, row);
    await recordAudit(
      trx,
      actor,
      {
        action: 'token.created',
        targetType: 'api_token',
        targetId: row.token_id,
        orgId,
        // Field names here must not look like secrets (audit redacts those) and must never be one.
        after: {
          name: row.name,
          scope_type: row.scope_type,
          scope_id: row.scope_id,
          access: row.access,
          expires_at: row.expires_at?.toISOString() ?? null,
        },
      },
      now,
    );
  });
  return {
    token: secret,
    token_id: row.token_id,
    name: row.name,
    scope_type: row.scope_type,
    scope_id: row.scope_id,
    access: row.access,
    expires_at: row.expires_at,
    created_at: row.created_at,
  };
}

/** The caller's own tokens, newest first, in every state (not to an API token: 403). */
export async function listTokensOf(
  db: Kysely<Database>,
  principal: Principal,
  now: Date,
): Promise<TokenJson[]> {
  refuseApiToken(principal, 'API tokens');
  const tokens = await listApiTokensOfUser(db, principal.userId);
  return tokens.map((token) => tokenJson(token, now));
}

/**
 * Revokes one of the caller's tokens and records `token.revoked` in the same transaction. Someone
 * else's token, or an unknown id, is a 404. Revoking a revoked token changes nothing and answers it
 * as it is. Only the user's own sign-in may do it, or an API token revoking itself (a read-write
 * one); any other token gets 403 (after the 404 for ids that are not the user's).
 */
export async function revokeTokenOf(
  db: Kysely<Database>,
  principal: Principal,
  tokenId: string,
  actor: AuditActor,
  now: Date,
): Promise<TokenJson> {
  const missing = () => notFound(`You have no API token with the id "${tokenId.slice(0, 80)}".`);
  if (!isTokenId(tokenId)) throw missing();
  const target = await findApiTokenOfUser(db, principal.userId, tokenId);
  if (!target) throw missing();
  // A token may end itself (its holder found it leaked), never its user's other tokens.
  if (principal.token?.tokenId !== tokenId) refuseApiToken(principal, 'other API tokens');
  requireWritingCredential(principal, 'revoke itself');
  if (target.revoked_at) return tokenJson(target, now);
  const chain =
    target.scope_type && target.scope_id
      ? await resolveScopeChain(db, target.scope_type, target.scope_id)
      : null;
  const revoked = await db.transaction().execute(async (trx) => {
    const row = await revokeApiToken(trx, principal.userId, tokenId, now);
    if (!row) return undefined;
    await recordAudit(
      trx,
      actor,
      {
        action: 'token.revoked',
        targetType: 'api_token',
        targetId: tokenId,
        orgId: chain?.orgId ?? null,
        before: { name: target.name, revoked_at: null },
        after: { name: target.name, revoked_at: now.toISOString() },
      },
      now,
    );
    return row;
  });
  // Revoked by a concurrent request between the read and the update: the outcome is the same.
  return tokenJson(revoked ?? { ...target, revoked_at: target.revoked_at ?? now }, now);
}

export interface TokenSelfJson extends TokenJson {
  user_id: string;
  /** Control-plane actions on the token's scope; null for a token that is not limited to one. */
  permissions: { scope_type: 'organization' | 'project'; scope_id: string; actions: string[] } | null;
  note?: string;
}

/**
 * What the calling bearer token is and what it may do on its scope (its user's roles there, cut
 * down by the token's own limits). A caller without an API token gets a 404: there is no token to
 * describe.
 */
export async function describeCallerToken(
  db: Kysely<Database>,
  principal: Principal,
  now: Date,
): Promise<TokenSelfJson> {
  const own = await callerToken(db, principal);
  if (!own) {
    throw notFound(
      'This endpoint describes the API token a request is made with (Authorization: Bearer kpt_…); this request did not use one.',
    );
  }
  const base = { ...tokenJson(own, now), user_id: own.user_id };
  if (!own.scope_type || !own.scope_id) {
    return {
      ...base,
      permissions: null,
      note: 'This token is not limited to one organization or project: it may do what its user may do anywhere (reading only, when it is read-only). Ask GET /api/v1/permissions/check?scopeType=…&scopeId=… for a given scope.',
    };
  }
  const chain = await resolveScopeChain(db, own.scope_type, own.scope_id);
  const actions = chain ? await effectiveActions(db, principal, chain, now) : [];
  return {
    ...base,
    permissions: {
      scope_type: own.scope_type,
      scope_id: own.scope_id,
      actions: CONTROL_PLANE_ACTIONS.filter((action) => actions.includes(action)),
    },
  };
}
