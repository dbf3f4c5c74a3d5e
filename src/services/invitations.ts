import type { Kysely, Transaction } from 'kysely';
import {
  findInvitationDetailsByToken,
  findOpenInvitationAtScope,
  findOpenInvitationFor,
  findPendingInvitationByToken,
  type InvitationDetails,
  insertInvitation,
  markInvitationAccepted,
  renewInvitation,
  revokeInvitationAtScope,
} from '../db/invitations.repository.ts';
import { enqueueMail } from '../db/mail-outbox.repository.ts';
import { grantRole, scopeNames } from '../db/role-assignments.repository.ts';
import type { Database, Invitation, User } from '../db/types.ts';
import { markEmailVerified } from '../db/users.repository.ts';
import { randomToken, sha256Hex } from '../lib/crypto.ts';
import { notFound } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { invitationMessage } from './mail.ts';
import { spendMailAllowance } from './mail-allowance.ts';
import { type Principal, principalLabel } from './principal.ts';
import type { AuthorizedScope } from './rbac.ts';

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
  if (!user.email_verified_at) {
    // The link was mailed to this address: whoever opened it owns the mailbox.
    await markEmailVerified(trx, user.user_id, now);
    await recordAudit(
      trx,
      { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email },
      {
        action: 'auth.email_verified',
        targetType: 'user',
        targetId: user.user_id,
        orgId: null,
        after: { email: user.email, method: 'invitation' },
      },
      now,
    );
  }
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

/** How long an invitation link works. */
export const INVITATION_TTL_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Who invites, from where, when; the same for creating and resending. */
export interface InvitationContext {
  /** BASE_URL: links in emails point here. */
  baseUrl: string;
  inviter: { userId: string; label: string };
  actor: AuditActor;
  now: Date;
  /** Invitation mails the scope's project (or organization) may send per hour (mail-allowance.ts). */
  mailsPerHour: number;
}

/** How an invitation names who sent it: "Ada Lovelace (ada@example.com)", or what is known. */
export function inviterOf(principal: Principal): InvitationContext['inviter'] {
  const label =
    principal.name && principal.email ? `${principal.name} (${principal.email})` : principalLabel(principal);
  return { userId: principal.userId, label };
}

/** The link an invitation email carries. The token in it is a secret: never log it. */
export function invitationLink(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/invitations/${token}`;
}

async function newToken(): Promise<{ token: string; tokenHash: string }> {
  const token = randomToken(32);
  return { token, tokenHash: await sha256Hex(token) };
}

async function roleDisplayName(db: Kysely<Database>, roleId: string): Promise<string> {
  const row = await db
    .selectFrom('ktrlplane.roles')
    .select('display_name')
    .where('role_id', '=', roleId)
    .executeTakeFirst();
  return row?.display_name ?? roleId;
}

/** Queues the invitation email in the caller's transaction (outbox): it exists iff the invitation does. */
async function queueInvitationMail(
  trx: Transaction<Database>,
  scope: AuthorizedScope,
  invitation: Invitation,
  token: string,
  context: InvitationContext,
): Promise<void> {
  // Rolled back with the invitation when over the hour's allowance: a 429 and nothing written.
  await spendMailAllowance(trx, scope, context.mailsPerHour, context.now, 'No invitation was sent');
  const names = await scopeNames(trx, scope);
  const scopeName =
    scope.type === 'organization'
      ? names.organization
      : scope.type === 'project'
        ? (names.project ?? scope.id)
        : (names.resource ?? scope.id);
  await enqueueMail(
    trx,
    invitationMessage({
      email: invitation.email,
      inviter: context.inviter.label,
      roleName: await roleDisplayName(trx, invitation.role_id),
      scopeType: invitation.scope_type,
      scopeName,
      link: invitationLink(context.baseUrl, token),
      expiresAt: invitation.expires_at,
    }),
    context.now,
  );
}

function invitationAudit(invitation: Invitation) {
  return {
    email: invitation.email,
    role: invitation.role_id,
    scope: `${invitation.scope_type}/${invitation.scope_id}`,
    assignment_expires_at: invitation.assignment_expires_at,
    expires_at: invitation.expires_at,
  };
}

/**
 * Invites `email` to a role on the scope: a random token of which only the SHA-256 is stored, a
 * 7-day expiry, and an email queued in the same transaction. Inviting the same email to the same
 * role on the same scope again renews the open invitation (new token, new expiry) instead of
 * adding a second one. Callers have checked manage_access on `scope` and that the role exists.
 */
export async function inviteToScope(
  trx: Transaction<Database>,
  scope: AuthorizedScope,
  input: { email: string; roleId: string; assignmentExpiresAt: Date | null },
  context: InvitationContext,
): Promise<{ invitation: Invitation; renewed: boolean }> {
  const { token, tokenHash } = await newToken();
  const expiresAt = new Date(context.now.getTime() + INVITATION_TTL_DAYS * DAY_MS);
  const open = await findOpenInvitationFor(trx, scope, input.email, input.roleId);
  const invitation = open
    ? await renewInvitation(trx, scope, open.invitation_id, {
        token_hash: tokenHash,
        expires_at: expiresAt,
        invited_by: context.inviter.userId,
        assignment_expires_at: input.assignmentExpiresAt,
      })
    : await insertInvitation(trx, {
        token_hash: tokenHash,
        email: input.email,
        role_id: input.roleId,
        scope_type: scope.type,
        scope_id: scope.id,
        org_id: scope.orgId,
        assignment_expires_at: input.assignmentExpiresAt,
        invited_by: context.inviter.userId,
        created_at: context.now,
        expires_at: expiresAt,
        accepted_at: null,
        accepted_by: null,
        revoked_at: null,
      });
  if (!invitation) throw notFound('The invitation changed while you were inviting; try again.');
  await queueInvitationMail(trx, scope, invitation, token, context);
  await recordAudit(
    trx,
    context.actor,
    {
      action: 'access.invited',
      targetType: 'invitation',
      targetId: invitation.invitation_id,
      orgId: scope.orgId,
      before: open ? invitationAudit(open) : null,
      after: { ...invitationAudit(invitation), renewed: Boolean(open) },
    },
    context.now,
  );
  return { invitation, renewed: Boolean(open) };
}

const NO_INVITATION = 'No open invitation has this id here: it may have been accepted or revoked.';

/** Sends an open invitation of this scope again with a new token and expiry; the old link stops working. */
export async function resendInvitation(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  context: InvitationContext,
): Promise<Invitation> {
  return db.transaction().execute(async (trx) => {
    const before = await findOpenInvitationAtScope(trx, scope, invitationId);
    if (!before) throw notFound(NO_INVITATION);
    const { token, tokenHash } = await newToken();
    const invitation = await renewInvitation(trx, scope, invitationId, {
      token_hash: tokenHash,
      expires_at: new Date(context.now.getTime() + INVITATION_TTL_DAYS * DAY_MS),
      invited_by: context.inviter.userId,
    });
    if (!invitation) throw notFound(NO_INVITATION);
    await queueInvitationMail(trx, scope, invitation, token, context);
    await recordAudit(
      trx,
      context.actor,
      {
        action: 'access.invitation_resent',
        targetType: 'invitation',
        targetId: invitation.invitation_id,
        orgId: scope.orgId,
        before: invitationAudit(before),
        after: invitationAudit(invitation),
      },
      context.now,
    );
    return invitation;
  });
}

/** Revokes an open invitation of this scope: its link stops working at once. */
export async function revokeInvitation(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const invitation = await revokeInvitationAtScope(trx, scope, invitationId, now);
    if (!invitation) throw notFound(NO_INVITATION);
    await recordAudit(
      trx,
      actor,
      {
        action: 'access.invitation_revoked',
        targetType: 'invitation',
        targetId: invitation.invitation_id,
        orgId: scope.orgId,
        before: { ...invitationAudit(invitation), revoked: false },
        after: { revoked: true },
      },
      now,
    );
  });
}

/** The invitation a link's token opens, if it is still pending (not used, revoked or expired). */
export async function invitationByToken(
  db: Kysely<Database>,
  token: string,
  now: Date,
): Promise<InvitationDetails | undefined> {
  if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) return undefined;
  return findInvitationDetailsByToken(db, await sha256Hex(token), now);
}
