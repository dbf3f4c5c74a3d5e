import type { Kysely } from 'kysely';
import type { Database, EmailVerificationsTable } from './types.ts';

/** Mailed email-verification links (ktrlplane.email_verifications), stored as token hashes. */
export async function insertEmailVerification(
  db: Kysely<Database>,
  row: EmailVerificationsTable,
): Promise<void> {
  await db.insertInto('ktrlplane.email_verifications').values(row).execute();
}

/**
 * Deletes and answers the unexpired row of `tokenHash`: a link works once. An expired row is
 * deleted too and answers undefined.
 */
export async function takeEmailVerification(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<EmailVerificationsTable | undefined> {
  const row = await db
    .deleteFrom('ktrlplane.email_verifications')
    .where('token_hash', '=', tokenHash)
    .returningAll()
    .executeTakeFirst();
  return row && row.expires_at > now ? row : undefined;
}

/** Every link of the user (on verification, or when their address goes to someone else). */
export async function deleteEmailVerificationsOf(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom('ktrlplane.email_verifications').where('user_id', '=', userId).execute();
}

export async function deleteExpiredEmailVerifications(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.email_verifications')
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
