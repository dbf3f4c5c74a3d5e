import type { Transaction } from 'kysely';
import { findPendingInvitationByToken, markInvitationAccepted } from '../db/invitations.repository.ts';
import { grantRole } from '../db/role-assignments.repository.ts';
import type { Database, User } from '../db/types.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { type AuditActor, recordAudit } from './audit.ts';

export interface AcceptedInvitation {
  scopeType: 'organization' | 'project' | 'resource';
  scopeId: string;
  orgId: string;
  roleId: string;
}

/**
 * Turns an invitation into a role assignment for `user`. The token is the proof that the user
 * received the email, so the invitation must also be addressed to the user's email: a forwarded
 * link does not grant access to someone else. Answers null when the token is unknown, used,
 * revoked, expired or for another email.
 */
export async function acceptInvitation(
  trx: Transaction<Database>,
  token: string,
  user: User,
  actor: AuditActor,
  now: Date,
): Promise<AcceptedInvitation | null> {
  const invitation = await findPendingInvitationByToken(trx, await sha256Hex(token), now);
  if (!invitation || !user.email || invitation.email.toLowerCase() !== user.email.toLowerCase()) return null;
  const assignment = await grantRole(trx, {
    user_id: user.user_id,
    role_id: invitation.role_id,
    scope_type: invitation.scope_type,
    scope_id: invitation.scope_id,
    expires_at: invitation.assignment_expires_at,
    created_by: invitation.invited_by,
  });
  await markInvitationAccepted(trx, invitation.invitation_id, user.user_id, now);
  await recordAudit(
    trx,
    { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email },
    {
      action: 'access.invitation_accepted',
      targetType: 'role_assignment',
      targetId: assignment.assignment_id,
      orgId: invitation.org_id,
      after: {
        user: user.email,
        role: invitation.role_id,
        scope: `${invitation.scope_type}/${invitation.scope_id}`,
      },
    },
    now,
  );
  return {
    scopeType: invitation.scope_type,
    scopeId: invitation.scope_id,
    orgId: invitation.org_id,
    roleId: invitation.role_id,
  };
}

/** Where to send a user who just accepted an invitation. */
export function invitationLanding(accepted: AcceptedInvitation): string {
  return accepted.scopeType === 'organization'
    ? `/organizations/${accepted.scopeId}`
    : accepted.scopeType === 'project'
      ? `/projects/${accepted.scopeId}`
      : '/projects';
}
