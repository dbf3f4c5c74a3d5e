import type { Insertable, Kysely } from 'kysely';
import type { Database, OidcLoginsTable } from './types.ts';

/** State rows of started OIDC sign-ins (ktrlplane.oidc_logins); platform-wide, keyed by a random state. */
export async function insertOidcLogin(
  db: Kysely<Database>,
  login: Insertable<OidcLoginsTable>,
): Promise<void> {
  await db.insertInto('ktrlplane.oidc_logins').values(login).execute();
}

/** Deletes and answers the row of `state` when it has not expired: a state works exactly once. */
export async function takeOidcLogin(db: Kysely<Database>, state: string, now: Date) {
  const row = await db
    .deleteFrom('ktrlplane.oidc_logins')
    .where('state', '=', state)
    .returningAll()
    .executeTakeFirst();
  return row && row.expires_at > now ? row : undefined;
}

export async function deleteExpiredOidcLogins(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.oidc_logins')
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
