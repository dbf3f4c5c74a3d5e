import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../config.ts';
import {
  findOpenInvitationListing,
  type InvitationListing,
  listOpenInvitationsAtScope,
} from '../db/invitations.repository.ts';
import {
  type AssignmentListing,
  type Candidate,
  deleteAssignmentAtScope,
  findAssignmentAtScope,
  findAssignmentFor,
  findAssignmentListing,
  findOrganizationMember,
  grantRole,
  listAssignmentsForScope,
  listGrantableRoles,
  lockUnexpiredOrganizationOwners,
  type RoleOption,
  searchGrantCandidates,
  updateAssignmentAtScope,
} from '../db/role-assignments.repository.ts';
import type { Database, RoleAssignment } from '../db/types.ts';
import { findUserByEmail } from '../db/users.repository.ts';
import type { Clock } from '../lib/clock.ts';
import { conflict, notFound, unprocessable } from '../lib/errors.ts';
import { ROLE } from '../lib/roles.ts';
import type { ChangeAssignmentInput, GrantAccessInput } from '../schemas/access.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { inviterOf, inviteToScope } from './invitations.ts';
import type { Principal } from './principal.ts';
import type { AuthorizedScope } from './rbac.ts';

/**
 * Role assignments at one scope (organization, project or resource): listing, granting (to a
 * member, to a known email, or by invitation), changing and revoking. Every function takes the
 * AuthorizedScope the route's permission check produced and touches only assignments and
 * invitations of exactly that scope; reading needs `read`, the rest `manage_access` (routes check).
 */

interface AccessDeps {
  db: Kysely<Database>;
  config: Pick<Config, 'BASE_URL' | 'MAILS_PER_PROJECT_PER_HOUR'>;
  clock: Clock;
}

export interface AccessOverview {
  scope: {
    type: AuthorizedScope['type'];
    id: string;
    name: string;
    org_id: string;
    organization_name: string;
    project_id: string | null;
    project_name: string | null;
    resource_id: string | null;
    resource_name: string | null;
  };
  /** Whether the caller may grant, change and revoke here (holds manage_access). */
  can_manage: boolean;
  assignments: AssignmentListing[];
  inherited: AssignmentListing[];
  invitations: InvitationListing[];
  /** Roles that may be granted (never the hidden service-account roles). */
  roles: RoleOption[];
}

export async function accessOverview(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  now: Date,
): Promise<AccessOverview> {
  const [{ direct, inherited, names }, invitations, roles] = await Promise.all([
    listAssignmentsForScope(db, scope, now),
    listOpenInvitationsAtScope(db, scope, now),
    listGrantableRoles(db, scope),
  ]);
  const name =
    scope.type === 'organization'
      ? names.organization
      : scope.type === 'project'
        ? (names.project ?? scope.id)
        : (names.resource ?? scope.id);
  return {
    scope: {
      type: scope.type,
      id: scope.id,
      name,
      org_id: scope.orgId,
      organization_name: names.organization,
      project_id: scope.projectId,
      project_name: names.project,
      resource_id: scope.resourceId,
      resource_name: names.resource,
    },
    can_manage: scope.actions.has('manage_access'),
    assignments: direct,
    inherited,
    invitations,
    roles,
  };
}

/** A role that may be granted, or a 422 on `/role_id` that lists the ones that may. */
async function grantableRole(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  roleId: string,
): Promise<RoleOption> {
  const roles = await listGrantableRoles(db, scope);
  const role = roles.find((candidate) => candidate.role_id === roleId);
  if (!role) {
    throw unprocessable([
      {
        pointer: '/role_id',
        message: `no role "${roleId}" can be granted; choose one of ${roles.map((r) => `${r.role_id} (${r.display_name})`).join(', ')}`,
      },
    ]);
  }
  return role;
}

function assertFuture(expiresAt: Date | null | undefined, now: Date): void {
  if (expiresAt && expiresAt.getTime() <= now.getTime()) {
    throw unprocessable([
      { pointer: '/expires_at', message: 'the expiry must be in the future; leave it empty for no expiry' },
    ]);
  }
}

function assignmentAudit(assignment: Pick<RoleAssignment, 'user_id' | 'role_id' | 'expires_at'>) {
  return { user: assignment.user_id, role: assignment.role_id, expires_at: assignment.expires_at };
}

export type GrantResult =
  | { kind: 'assignment'; assignment: AssignmentListing; created: boolean }
  | { kind: 'invitation'; invitation: InvitationListing; renewed: boolean };

/**
 * Grants a role on the scope. `user_id` must be a member of the scope's organization (else 404, as
 * for an unknown id); an email of an existing user who verified it (exact, case-insensitive) grants
 * to that user; any other email (an unverified account's included) gets an invitation, its email queued in the same transaction. Granting a role the
 * user already holds here only updates its expiry.
 */
export async function grantAccess(
  deps: AccessDeps,
  scope: AuthorizedScope,
  granter: Principal,
  input: GrantAccessInput,
  actor: AuditActor,
): Promise<GrantResult> {
  const now = deps.clock.now();
  const expiresAt = input.expires_at ?? null;
  assertFuture(expiresAt, now);
  const role = await grantableRole(deps.db, scope, input.role_id);
  return deps.db.transaction().execute(async (trx): Promise<GrantResult> => {
    let userId: string | undefined;
    if (input.user_id !== undefined) {
      const member = await findOrganizationMember(trx, scope, input.user_id);
      if (!member) {
        throw notFound(
          `No member of this organization has the user id "${input.user_id.slice(0, 80)}"; grant by email to invite someone new.`,
        );
      }
      userId = member.user_id;
    } else if (input.email !== undefined) {
      // Only an account that verified the address receives the grant directly; for anyone else
      // (no account, or an unverified one, possibly a squatter's) the grant becomes an invitation,
      // which only the mailbox's owner can accept (issue 15 finding 4).
      const holder = await findUserByEmail(trx, input.email);
      userId = holder?.email_verified_at ? holder.user_id : undefined;
      if (!userId) {
        const { invitation, renewed } = await inviteToScope(
          trx,
          scope,
          { email: input.email, roleId: role.role_id, assignmentExpiresAt: expiresAt },
          {
            baseUrl: deps.config.BASE_URL,
            inviter: inviterOf(granter),
            actor,
            now,
            mailsPerHour: deps.config.MAILS_PER_PROJECT_PER_HOUR,
          },
        );
        const listing = await findOpenInvitationListing(trx, scope, invitation.invitation_id, now);
        if (!listing) throw new Error('the invitation just written is missing');
        return { kind: 'invitation', invitation: listing, renewed };
      }
    }
    if (!userId) throw unprocessable([{ pointer: '/email', message: 'enter an email address' }]);
    const before = await findAssignmentFor(trx, scope, userId, role.role_id);
    const assignment = await grantRole(trx, {
      user_id: userId,
      role_id: role.role_id,
      scope_type: scope.type,
      scope_id: scope.id,
      expires_at: expiresAt,
      created_by: granter.userId,
    });
    await recordAudit(
      trx,
      actor,
      {
        action: 'access.granted',
        targetType: 'role_assignment',
        targetId: assignment.assignment_id,
        orgId: scope.orgId,
        before: before ? assignmentAudit(before) : null,
        after: { ...assignmentAudit(assignment), scope: `${scope.type}/${scope.id}` },
      },
      now,
    );
    const listing = await findAssignmentListing(trx, scope, assignment.assignment_id, now);
    if (!listing) throw new Error('the assignment just written is missing');
    return { kind: 'assignment', assignment: listing, created: !before };
  });
}

const NO_ASSIGNMENT = (scope: AuthorizedScope) =>
  notFound(`No role assignment has this id on this ${scope.type}; it may have been revoked already.`);

/**
 * Reads an assignment of this scope for a change. On an organization, the Owner assignments are
 * locked first, so that the last-Owner check below cannot race with another change.
 */
async function assignmentForChange(
  trx: Transaction<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
  now: Date,
): Promise<{ assignment: RoleAssignment; otherOwners: number }> {
  const owners = scope.type === 'organization' ? await lockUnexpiredOrganizationOwners(trx, scope, now) : [];
  const assignment = await findAssignmentAtScope(trx, scope, assignmentId);
  if (!assignment) throw NO_ASSIGNMENT(scope);
  return {
    assignment,
    otherOwners: owners.filter((owner) => owner.assignment_id !== assignmentId).length,
  };
}

function isUnexpiredOrganizationOwner(
  scope: AuthorizedScope,
  assignment: RoleAssignment,
  now: Date,
): boolean {
  return (
    scope.type === 'organization' &&
    assignment.role_id === ROLE.owner &&
    (assignment.expires_at === null || assignment.expires_at.getTime() > now.getTime())
  );
}

/** Changes the role or the expiry of an assignment of this scope; the last Owner cannot be demoted. */
export async function changeAssignment(
  deps: AccessDeps,
  scope: AuthorizedScope,
  assignmentId: string,
  input: ChangeAssignmentInput,
  actor: AuditActor,
): Promise<AssignmentListing> {
  const now = deps.clock.now();
  assertFuture(input.expires_at, now);
  if (input.role_id !== undefined) await grantableRole(deps.db, scope, input.role_id);
  return deps.db.transaction().execute(async (trx) => {
    const { assignment, otherOwners } = await assignmentForChange(trx, scope, assignmentId, now);
    const changes: { role_id?: string; expires_at?: Date | null } = {};
    if (input.role_id !== undefined && input.role_id !== assignment.role_id) changes.role_id = input.role_id;
    if (input.expires_at !== undefined) changes.expires_at = input.expires_at;
    const demotes = changes.role_id !== undefined || (changes.expires_at ?? null) !== null;
    if (demotes && isUnexpiredOrganizationOwner(scope, assignment, now) && otherOwners === 0) {
      throw conflict(
        'This is the last Owner of the organization: it keeps the Owner role with no expiry. Make someone else Owner first, then change this assignment.',
      );
    }
    if (changes.role_id !== undefined) {
      const duplicate = await findAssignmentFor(trx, scope, assignment.user_id, changes.role_id);
      if (duplicate) {
        throw conflict(
          'This user already holds that role here; revoke this assignment instead of changing it.',
        );
      }
    }
    if (Object.keys(changes).length > 0) {
      const updated = await updateAssignmentAtScope(trx, scope, assignmentId, changes);
      if (!updated) throw NO_ASSIGNMENT(scope);
      await recordAudit(
        trx,
        actor,
        {
          action: 'access.changed',
          targetType: 'role_assignment',
          targetId: assignmentId,
          orgId: scope.orgId,
          before: assignmentAudit(assignment),
          after: assignmentAudit(updated),
        },
        now,
      );
    }
    const listing = await findAssignmentListing(trx, scope, assignmentId, now);
    if (!listing) throw NO_ASSIGNMENT(scope);
    return listing;
  });
}

/**
 * Revokes an assignment of this scope. It takes effect on the caller's next request: every
 * permission check reads the assignments afresh. The last unexpired Owner of an organization stays.
 */
export async function revokeAssignment(
  deps: AccessDeps,
  scope: AuthorizedScope,
  assignmentId: string,
  actor: AuditActor,
): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    const { assignment, otherOwners } = await assignmentForChange(trx, scope, assignmentId, now);
    if (isUnexpiredOrganizationOwner(scope, assignment, now) && otherOwners === 0) {
      throw conflict(
        'This is the last Owner of the organization and cannot be removed. Make someone else Owner first.',
      );
    }
    if (!(await deleteAssignmentAtScope(trx, scope, assignmentId))) throw NO_ASSIGNMENT(scope);
    await recordAudit(
      trx,
      actor,
      {
        action: 'access.revoked',
        targetType: 'role_assignment',
        targetId: assignmentId,
        orgId: scope.orgId,
        before: { ...assignmentAudit(assignment), scope: `${scope.type}/${scope.id}` },
        after: null,
      },
      now,
    );
  });
}

const CANDIDATE_LIMIT = 20;

/**
 * People to grant to: members of the organization matching `query`, plus an exact email match
 * among people who already share an organization with the granter (issue 15 finding 8: a
 * stranger's address is never confirmed; grant by email invites them instead).
 */
export async function grantCandidates(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  granterId: string,
  query: string,
): Promise<Candidate[]> {
  return searchGrantCandidates(db, scope, granterId, query, CANDIDATE_LIMIT);
}

/** One direct assignment of this scope and the roles it may change to (to render its row again). */
export async function assignmentRow(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
  now: Date,
): Promise<{ assignment: AssignmentListing; roles: RoleOption[] } | undefined> {
  const [assignment, roles] = await Promise.all([
    findAssignmentListing(db, scope, assignmentId, now),
    listGrantableRoles(db, scope),
  ]);
  return assignment ? { assignment, roles } : undefined;
}

/** One open invitation of this scope, as listed on the access page. */
export async function invitationRow(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  now: Date,
): Promise<InvitationListing | undefined> {
  return findOpenInvitationListing(db, scope, invitationId, now);
}
