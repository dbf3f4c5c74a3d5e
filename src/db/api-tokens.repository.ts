import { type Insertable, type Kysely, sql } from 'kysely';
import type { ApiToken, ApiTokensTable, Database, User } from './types.ts';

export async function insertApiToken(db: Kysely<Database>, token: Insertable<ApiTokensTable>): Promise<void> {
  await db.insertInto('ktrlplane.api_tokens').values(token).execute();
}

/** What authentication needs of a token's owner to make the principal. */
export type TokenOwner = Pick<User, 'user_id' | 'email' | 'name' | 'is_platform_admin' | 'kind'>;

/** The token and its owner, when the token exists, is not revoked and has not expired. */
export async function findActiveApiToken(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<{ token: ApiToken; user: TokenOwner } | undefined> {
  // Every API request runs this: one round trip for the token and its owner, only the owner's
  // columns the principal needs, and SQL written out rather than built (building this query cost
  // more than reading its row). sql.table keeps the table in the statement's trace span.
  const { rows } = await sql<ApiToken & Omit<TokenOwner, 'user_id' | 'name'> & { user_name: string | null }>`
    SELECT t.*, u.email, u.name AS user_name, u.is_platform_admin, u.kind
      FROM ${sql.table('ktrlplane.api_tokens')} t
      JOIN ktrlplane.users u ON u.user_id = t.user_id
     WHERE t.token_hash = ${tokenHash} AND t.revoked_at IS NULL
       AND (t.expires_at IS NULL OR t.expires_at > ${now})`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { email, user_name, is_platform_admin, kind, ...token } = row;
  return { token, user: { user_id: token.user_id, email, name: user_name, is_platform_admin, kind } };
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
