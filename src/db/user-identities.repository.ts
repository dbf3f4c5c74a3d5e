import type { Kysely } from 'kysely';
import type { Database, User, UserIdentitiesTable } from './types.ts';

/**
 * Identity-provider `sub`s linked to local accounts (ktrlplane.user_identities). Platform-wide: a
 * `sub` names one person at the configured issuer, whichever organization they work in.
 */
export type UserIdentity = UserIdentitiesTable;

/** The account a `sub` is linked to, or undefined when it is linked to none. */
export async function findLinkedUser(db: Kysely<Database>, sub: string): Promise<User | undefined> {
  return db
    .selectFrom('ktrlplane.user_identities as i')
    .innerJoin('ktrlplane.users as u', 'u.user_id', 'i.user_id')
    .selectAll('u')
    .where('i.sub', '=', sub)
    .executeTakeFirst();
}

export async function findIdentity(db: Kysely<Database>, sub: string): Promise<UserIdentity | undefined> {
  return db.selectFrom('ktrlplane.user_identities').selectAll().where('sub', '=', sub).executeTakeFirst();
}

export async function listIdentitiesOf(db: Kysely<Database>, userId: string): Promise<UserIdentity[]> {
  return db
    .selectFrom('ktrlplane.user_identities')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('linked_at')
    .execute();
}

/** Links `sub` to `userId`; answers false when the `sub` is already linked (to anyone). */
export async function insertIdentity(db: Kysely<Database>, identity: UserIdentity): Promise<boolean> {
  const row = await db
    .insertInto('ktrlplane.user_identities')
    .values(identity)
    .onConflict((oc) => oc.column('sub').doNothing())
    .returning('sub')
    .executeTakeFirst();
  return row !== undefined;
}

/** Removes the link of `sub` to `userId`; answers the removed row, or undefined when there was none. */
export async function deleteIdentity(
  db: Kysely<Database>,
  userId: string,
  sub: string,
): Promise<UserIdentity | undefined> {
  return db
    .deleteFrom('ktrlplane.user_identities')
    .where('user_id', '=', userId)
    .where('sub', '=', sub)
    .returningAll()
    .executeTakeFirst();
}
