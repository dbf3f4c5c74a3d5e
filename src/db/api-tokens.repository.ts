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
  const token = await db
    .selectFrom('ktrlplane.api_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  if (!token) return undefined;
  const user = await db
    .selectFrom('ktrlplane.users')
    .selectAll()
    .where('user_id', '=', token.user_id)
    .executeTakeFirst();
  return user ? { token, user } : undefined;
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
