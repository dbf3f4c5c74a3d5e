import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, User } from './types.ts';

/** Platform-wide: used only to tell a fresh installation (no users yet) from a running one. */
export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('ktrlplane.users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function findUserById(db: Kysely<Database>, userId: string): Promise<User | undefined> {
  return db.selectFrom('ktrlplane.users').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** Exact, case-insensitive email match. */
export async function findUserByEmail(db: Kysely<Database>, email: string): Promise<User | undefined> {
  return db
    .selectFrom('ktrlplane.users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
}

/**
 * Creates a user; the very first user of the installation becomes the platform admin. Takes a
 * table lock so two simultaneous first sign-ups cannot both become admin.
 */
export async function createUser(
  trx: Transaction<Database>,
  user: { user_id: string; email: string | null; name: string | null; kind?: 'user' | 'service' },
): Promise<User> {
  await sql`LOCK TABLE ktrlplane.users IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
  const isFirst = (await countUsers(trx)) === 0;
  return trx
    .insertInto('ktrlplane.users')
    .values({ ...user, kind: user.kind ?? 'user', is_platform_admin: isFirst })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Creates or refreshes a user known from an identity provider (OIDC `sub`, email and name claims).
 * A new address counts as verified when the provider says so (`email_verified: true`); a verified
 * address keeps its verification while it stays the same.
 */
export async function upsertExternalUser(
  db: Kysely<Database>,
  user: {
    user_id: string;
    email: string | null;
    email_verified: boolean;
    name: string | null;
    kind: 'user' | 'service';
  },
  now: Date,
): Promise<User> {
  const run = async (trx: Transaction<Database>) => {
    const { email_verified: verified, ...fields } = user;
    const existing = await findUserById(trx, user.user_id);
    // A verification survives while the address stays the same (it may have come from an accepted
    // invitation, and many providers never send email_verified); a new address starts over.
    const kept = existing?.email === user.email ? (existing?.email_verified_at ?? null) : null;
    const verifiedAt = user.email === null ? null : (kept ?? (verified ? now : null));
    if (!existing) {
      const created = await createUser(trx, fields);
      if (!verifiedAt) return created;
      return markEmailVerified(trx, created.user_id, verifiedAt);
    }
    if (
      existing.email === user.email &&
      existing.name === user.name &&
      existing.kind === user.kind &&
      existing.email_verified_at?.getTime() === verifiedAt?.getTime()
    )
      return existing;
    return trx
      .updateTable('ktrlplane.users')
      .set({ ...fields, email_verified_at: verifiedAt, updated_at: now })
      .where('user_id', '=', user.user_id)
      .returningAll()
      .executeTakeFirstOrThrow();
  };
  // Inside a caller's transaction (a sign-in that claims an address) or in one of its own.
  return db.isTransaction ? run(db as Transaction<Database>) : db.transaction().execute(run);
}

/** Marks the user's current address verified at `at`. */
export async function markEmailVerified(db: Kysely<Database>, userId: string, at: Date): Promise<User> {
  return db
    .updateTable('ktrlplane.users')
    .set({ email_verified_at: at, updated_at: at })
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Takes the address off an unverified account, so that whoever proved they own it can have it.
 * Answers undefined when the account has meanwhile been verified (then it keeps its address).
 */
export async function releaseUnverifiedEmail(
  db: Kysely<Database>,
  userId: string,
  now: Date,
): Promise<User | undefined> {
  return db
    .updateTable('ktrlplane.users')
    .set({ email: null, email_verified_at: null, updated_at: now })
    .where('user_id', '=', userId)
    .where('email_verified_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function rememberLastUsed(
  db: Kysely<Database>,
  userId: string,
  last: { last_org_id?: string | null; last_project_id?: string | null },
): Promise<void> {
  // Page views call this on every visit; the row is written only when the values change.
  let query = db.updateTable('ktrlplane.users').set(last).where('user_id', '=', userId);
  query = query.where((eb) =>
    eb.or(
      Object.entries(last).map(([column, value]) =>
        eb(column as 'last_org_id' | 'last_project_id', 'is distinct from', value ?? null),
      ),
    ),
  );
  await query.execute();
}

export async function findPasswordHash(db: Kysely<Database>, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('ktrlplane.local_credentials')
    .select('password_hash')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.password_hash;
}

export async function setPasswordHash(
  db: Kysely<Database>,
  userId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  await db
    .insertInto('ktrlplane.local_credentials')
    .values({ user_id: userId, password_hash: passwordHash, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: passwordHash, updated_at: now }))
    .execute();
}

/**
 * Makes sure the service account of an M2M client exists (its id is `<client id>@clients`, what its
 * tokens name), without touching an existing row. A service account is never a platform admin, even
 * on an empty installation.
 */
export async function ensureServiceAccount(
  db: Kysely<Database>,
  account: { user_id: string; name: string },
): Promise<User> {
  await db
    .insertInto('ktrlplane.users')
    .values({
      user_id: account.user_id,
      email: null,
      name: account.name,
      kind: 'service',
      is_platform_admin: false,
    })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute();
  return db
    .selectFrom('ktrlplane.users')
    .selectAll()
    .where('user_id', '=', account.user_id)
    .executeTakeFirstOrThrow();
}
