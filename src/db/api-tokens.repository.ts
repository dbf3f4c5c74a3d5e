import type { Insertable, Kysely } from 'kysely';
import type { ApiToken, ApiTokensTable, Database, User } from './types.ts';

export async function insertApiToken(db: Kysely<Database>, token: Insertable<ApiTokensTable>): Promise<void> {
  await db.insertInto('ktrlplane.api_tokens').values(token).execute();
}

/** The token and its owner, when the token exists, is not revoked and has not expired. */
export async function findActiveApiToken(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<{ token: ApiToken; user: User } | undefined> {
  // One round trip for both: this runs on every API request.
  const row = await db
    .selectFrom('ktrlplane.api_tokens as t')
    .innerJoin('ktrlplane.users as u', 'u.user_id', 't.user_id')
    .select([
      't.token_id',
      't.token_hash',
      't.user_id',
      't.name as token_name',
      't.scope_type',
      't.scope_id',
      't.access',
      't.created_at as token_created_at',
      't.expires_at',
      't.last_used_at',
      't.revoked_at',
      'u.email',
      'u.name',
      'u.is_platform_admin',
      'u.kind',
      'u.last_org_id',
      'u.last_project_id',
      'u.created_at',
      'u.updated_at',
    ])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', now)]))
    .executeTakeFirst();
  if (!row) return undefined;
  const token: ApiToken = {
    token_id: row.token_id,
    token_hash: row.token_hash,
    user_id: row.user_id,
    name: row.token_name,
    scope_type: row.scope_type,
    scope_id: row.scope_id,
    access: row.access,
    created_at: row.token_created_at,
    expires_at: row.expires_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
  const user: User = {
    user_id: row.user_id,
    email: row.email,
    name: row.name,
    is_platform_admin: row.is_platform_admin,
    kind: row.kind,
    last_org_id: row.last_org_id,
    last_project_id: row.last_project_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
  return { token, user };
}

/** Records use at most once a minute, so a busy token does not write on every request. */
export async function touchApiToken(db: Kysely<Database>, tokenId: string, now: Date): Promise<void> {
  await db
    .updateTable('ktrlplane.api_tokens')
    .set({ last_used_at: now })
    .where('token_id', '=', tokenId)
    .where((eb) =>
      eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', new Date(now.getTime() - 60_000))]),
    )
    .execute();
}

/** The caller's own tokens (the user id is the tenant scope here), newest first. */
export async function listApiTokensOfUser(db: Kysely<Database>, userId: string): Promise<ApiToken[]> {
  return db
    .selectFrom('ktrlplane.api_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('token_id')
    .execute();
}

/** Revokes one of the caller's tokens; answers the token as it was, or undefined when it is not theirs. */
export async function revokeApiToken(
  db: Kysely<Database>,
  userId: string,
  tokenId: string,
  now: Date,
): Promise<ApiToken | undefined> {
  return db
    .updateTable('ktrlplane.api_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('token_id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * One of the caller's tokens by id, whatever its state. The user id is the tenant scope: a token of
 * someone else answers undefined exactly like one that does not exist.
 */
export async function findApiTokenOfUser(
  db: Kysely<Database>,
  userId: string,
  tokenId: string,
): Promise<ApiToken | undefined> {
  return db
    .selectFrom('ktrlplane.api_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('token_id', '=', tokenId)
    .executeTakeFirst();
}
