import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, MailOutboxTable } from './types.ts';

export type OutboxMail = Selectable<MailOutboxTable>;

/**
 * Queues a message. Call it with the transaction of the change the message announces (an
 * invitation, …), so the message exists exactly when the change does (outbox pattern).
 */
export async function enqueueMail(
  db: Kysely<Database>,
  message: { to: string; subject: string; text: string },
  now: Date,
): Promise<OutboxMail> {
  return db
    .insertInto('ktrlplane.mail_outbox')
    .values({ to_address: message.to, subject: message.subject, body_text: message.text, created_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Claims up to `limit` unsent messages that have been tried fewer than `maxAttempts` times, oldest
 * first. The row locks last until `trx` ends and rows another run holds are skipped, so two
 * delivery runs at once never claim the same message.
 */
export async function claimPendingMail(
  trx: Transaction<Database>,
  limit: number,
  maxAttempts: number,
): Promise<OutboxMail[]> {
  return trx
    .selectFrom('ktrlplane.mail_outbox')
    .selectAll()
    .where('sent_at', 'is', null)
    .where('attempts', '<', maxAttempts)
    .orderBy('created_at')
    .orderBy('mail_id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function markMailSent(trx: Transaction<Database>, mailId: string, now: Date): Promise<void> {
  await trx
    .updateTable('ktrlplane.mail_outbox')
    .set((eb) => ({ sent_at: now, attempts: eb('attempts', '+', 1), last_error: null }))
    .where('mail_id', '=', mailId)
    .execute();
}

export async function markMailFailed(
  trx: Transaction<Database>,
  mailId: string,
  error: string,
): Promise<void> {
  await trx
    .updateTable('ktrlplane.mail_outbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000) }))
    .where('mail_id', '=', mailId)
    .execute();
}
