import type { Insertable, Kysely } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
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

/** An invitation as access pages and the API show it; never its token or the token's hash. */
export interface InvitationListing {
  invitation_id: string;
  email: string;
  role_id: string;
  role_name: string;
  scope_type: 'organization' | 'project' | 'resource';
  scope_id: string;
  assignment_expires_at: Date | null;
  invited_by: string | null;
  inviter_email: string | null;
  created_at: Date;
  expires_at: Date;
  /** An expired invitation can no longer be accepted; resending it makes a new link. */
  expired: boolean;
}

function listingQuery(db: Kysely<Database>) {
  return db
    .selectFrom('ktrlplane.invitations as i')
    .innerJoin('ktrlplane.roles as r', 'r.role_id', 'i.role_id')
    .leftJoin('ktrlplane.users as u', 'u.user_id', 'i.invited_by')
    .select([
      'i.invitation_id',
      'i.email',
      'i.role_id',
      'r.display_name as role_name',
      'i.scope_type',
      'i.scope_id',
      'i.assignment_expires_at',
      'i.invited_by',
      'u.email as inviter_email',
      'i.created_at',
      'i.expires_at',
    ])
    .where('i.accepted_at', 'is', null)
    .where('i.revoked_at', 'is', null);
}

function toListing(row: Omit<InvitationListing, 'expired'>, now: Date): InvitationListing {
  return { ...row, expired: row.expires_at.getTime() <= now.getTime() };
}

/** Invitations of exactly this scope that are neither accepted nor revoked (expired ones included). */
export async function listOpenInvitationsAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  now: Date,
): Promise<InvitationListing[]> {
  const rows = await listingQuery(db)
    .where('i.scope_type', '=', scope.type)
    .where('i.scope_id', '=', scope.id)
    .orderBy('i.created_at', 'desc')
    .orderBy('i.invitation_id')
    .execute();
  return rows.map((row) => toListing(row, now));
}

export async function findOpenInvitationListing(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  now: Date,
): Promise<InvitationListing | undefined> {
  const row = await listingQuery(db)
    .where('i.invitation_id', '=', invitationId)
    .where('i.scope_type', '=', scope.type)
    .where('i.scope_id', '=', scope.id)
    .executeTakeFirst();
  return row ? toListing(row, now) : undefined;
}

/** An open (not accepted, not revoked) invitation of exactly this scope, by id. */
export async function findOpenInvitationAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
): Promise<Invitation | undefined> {
  return db
    .selectFrom('ktrlplane.invitations')
    .selectAll()
    .where('invitation_id', '=', invitationId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** The open invitation of this scope for the same email (case-insensitive) and role, if any. */
export async function findOpenInvitationFor(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  email: string,
  roleId: string,
): Promise<Invitation | undefined> {
  return db
    .selectFrom('ktrlplane.invitations')
    .selectAll()
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('role_id', '=', roleId)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

/** Gives an open invitation of this scope a new token and expiry; the old link stops working. */
export async function renewInvitation(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  renewal: {
    token_hash: string;
    expires_at: Date;
    invited_by: string | null;
    assignment_expires_at?: Date | null;
  },
): Promise<Invitation | undefined> {
  return db
    .updateTable('ktrlplane.invitations')
    .set(renewal)
    .where('invitation_id', '=', invitationId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function revokeInvitationAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  invitationId: string,
  now: Date,
): Promise<Invitation | undefined> {
  return db
    .updateTable('ktrlplane.invitations')
    .set({ revoked_at: now })
    .where('invitation_id', '=', invitationId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** What an invitation's landing page shows: who invited whom, to what, as which role. */
export interface InvitationDetails {
  invitation_id: string;
  email: string;
  role_id: string;
  role_name: string;
  role_description: string;
  scope_type: 'organization' | 'project' | 'resource';
  scope_id: string;
  scope_name: string;
  org_id: string;
  organization_name: string;
  inviter_name: string | null;
  inviter_email: string | null;
  assignment_expires_at: Date | null;
  expires_at: Date;
}

/**
 * A pending invitation by the hash of its token, with the names a landing page shows. No tenant
 * scope: holding the token is the permission (it was sent to the invited address).
 */
export async function findInvitationDetailsByToken(
  db: Kysely<Database>,
  tokenHash: string,
  now: Date,
): Promise<InvitationDetails | undefined> {
  const row = await db
    .selectFrom('ktrlplane.invitations as i')
    .innerJoin('ktrlplane.roles as r', 'r.role_id', 'i.role_id')
    .innerJoin('ktrlplane.organizations as o', 'o.org_id', 'i.org_id')
    .leftJoin('ktrlplane.users as u', 'u.user_id', 'i.invited_by')
    .leftJoin('ktrlplane.projects as p', (join) =>
      join.onRef('p.project_id', '=', 'i.scope_id').on('i.scope_type', '=', 'project'),
    )
    .leftJoin('ktrlplane.resources as rs', (join) =>
      join.onRef('rs.resource_id', '=', 'i.scope_id').on('i.scope_type', '=', 'resource'),
    )
    .select([
      'i.invitation_id',
      'i.email',
      'i.role_id',
      'r.display_name as role_name',
      'r.description as role_description',
      'i.scope_type',
      'i.scope_id',
      'i.org_id',
      'o.name as organization_name',
      'p.name as project_name',
      'rs.name as resource_name',
      'u.name as inviter_name',
      'u.email as inviter_email',
      'i.assignment_expires_at',
      'i.expires_at',
    ])
    .where('i.token_hash', '=', tokenHash)
    .where('i.accepted_at', 'is', null)
    .where('i.revoked_at', 'is', null)
    .where('i.expires_at', '>', now)
    .executeTakeFirst();
  if (!row) return undefined;
  const { project_name, resource_name, ...rest } = row;
  const scopeName =
    row.scope_type === 'organization'
      ? row.organization_name
      : row.scope_type === 'project'
        ? project_name
        : resource_name;
  return { ...rest, scope_name: scopeName ?? row.scope_id };
}
