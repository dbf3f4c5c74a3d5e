import type { Kysely } from 'kysely';
import { transferPlaceholderAssignments } from '../db/placeholder-invitees.repository.ts';
import { withTransaction } from '../db/transaction.ts';
import type { Database, User } from '../db/types.ts';
import { recordAudit } from './audit.ts';

/**
 * The Go service's invitation flow, kept for the invitees it left pending: roles granted to an
 * email before its owner had signed in sit on a placeholder user whose id is that email. The first
 * sign-in through the identity provider with that (verified) email takes them over, as the Go
 * service did, and the placeholder goes away. One audit event per organization concerned.
 */
export async function claimPlaceholderInvitee(
  db: Kysely<Database>,
  placeholder: User,
  identity: { userId: string; name: string | null },
  now: Date,
): Promise<User> {
  return withTransaction(db, async (trx) => {
    const email = placeholder.email;
    const created = await trx
      .insertInto('ktrlplane.users')
      .values({
        user_id: identity.userId,
        email: null,
        name: identity.name,
        kind: 'user',
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ updated_at: now }))
      .returningAll()
      .executeTakeFirstOrThrow();
    const { moved, orgIds } = await transferPlaceholderAssignments(trx, placeholder.user_id, created.user_id);
    const user = await trx
      .updateTable('ktrlplane.users')
      .set({ email, email_verified_at: now })
      .where('user_id', '=', created.user_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const actor = {
      actorType: 'user' as const,
      actorId: user.user_id,
      actorLabel: email,
      requestId: null,
      ip: null,
      userAgent: null,
    };
    for (const orgId of orgIds.length > 0 ? orgIds : [null]) {
      await recordAudit(
        trx,
        actor,
        {
          action: 'user.invitation_claimed',
          targetType: 'user',
          targetId: user.user_id,
          orgId,
          before: { placeholder_user_id: placeholder.user_id },
          after: { placeholder_user_id: null, assignments_moved: moved },
        },
        now,
      );
    }
    return user;
  });
}
