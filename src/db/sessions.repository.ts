import type { Kysely } from 'kysely';
import type { Database, User } from './types.ts';

export async function insertSession(
  db: Kysely<Database>,
  session: {
    session_hash: string;
    user_id: string;
    created_at: Date;
    expires_at: Date;
    ip: string | null;
    user_agent: string | null;
  },
): Promise<void> {
  await db
    .insertInto('ktrlplane.sessions')
    .values({ ...session, last_seen_at: session.created_at })
    .execute();
}

/** The session's user when the session exists and has not expired. */
export async function findSessionUser(
  db: Kysely<Database>,
  sessionHash: string,
  now: Date,
): Promise<{ user: User; lastSeenAt: Date; expiresAt: Date } | undefined> {
  const row = await db
    .selectFrom('ktrlplane.sessions as s')
    .innerJoin('ktrlplane.users as u', 'u.user_id', 's.user_id')
    .selectAll('u')
    .select(['s.last_seen_at', 's.expires_at'])
    .where('s.session_hash', '=', sessionHash)
    .where('s.expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return undefined;
  const { last_seen_at, expires_at, ...user } = row;
  return { user, lastSeenAt: last_seen_at, expiresAt: expires_at };
}

export async function touchSession(db: Kysely<Database>, sessionHash: string, now: Date): Promise<void> {
  await db
    .updateTable('ktrlplane.sessions')
    .set({ last_seen_at: now })
    .where('session_hash', '=', sessionHash)
    .execute();
}

export async function deleteSession(db: Kysely<Database>, sessionHash: string): Promise<void> {
  await db.deleteFrom('ktrlplane.sessions').where('session_hash', '=', sessionHash).execute();
}

/** Signs a user out everywhere except, optionally, the session in hand. */
export async function deleteSessionsOfUser(
  db: Kysely<Database>,
  userId: string,
  except?: string,
): Promise<void> {
  let query = db.deleteFrom('ktrlplane.sessions').where('user_id', '=', userId);
  if (except) query = query.where('session_hash', '!=', except);
  await query.execute();
}

export async function deleteExpiredSessions(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db.deleteFrom('ktrlplane.sessions').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
