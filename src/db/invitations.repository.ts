import type { Insertable, Kysely } from 'kysely';
import type { Database, Invitation, InvitationsTable } from './types.ts';

export async function insertInvitation(
  db: Kysely<Database>,
  invitation: Insertable<InvitationsTable>,
): Promise<Invitation> {
  return db.insertInto('ktrlplane.invitations').values(invitation).returningAll().executeTakeFirstOrThrow();
}

/** A pending invitation (not accepted, revoked or expired) by the hash of its token. */
export async function findPendingInvitationByToken(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<Invitation | undefined> {
  return db
    .selectFrom('ktrlplane.invitations')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

export async function markInvitationAccepted(
  db: Kysely<Database>,
  invitationId: string,
  userId: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.invitations')
    .set({ accepted_at: now, accepted_by: userId })
    .where('invitation_id', '=', invitationId)
    .execute();
}
