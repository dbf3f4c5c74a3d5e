import { type Kysely, sql, type Transaction } from 'kysely';
import { ROLE } from '../lib/roles.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, RoleAssignment, ScopeType, User } from './types.ts';

/** Platform-wide maintenance (no tenant scope): removes assignments that expired before `before`. */
export async function deleteExpiredRoleAssignments(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.role_assignments')
    .where('expires_at', 'is not', null)
    .where('expires_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Grants a role on a scope (idempotent: granting it again refreshes the expiry). Callers have
 * checked manage_access on the scope, or act for an accepted invitation or a new organization.
 */
export async function grantRole(
  db: Kysely<Database>,
  grant: {
    user_id: string;
    role_id: string;
    scope_type: ScopeType;
    scope_id: string;
    expires_at: Date | null;
    created_by: string | null;
  },
): Promise<RoleAssignment> {
  return db
    .insertInto('ktrlplane.role_assignments')
    .values(grant)
    .onConflict((oc) =>
      oc
        .columns(['user_id', 'role_id', 'scope_type', 'scope_id'])
        .doUpdateSet({ expires_at: grant.expires_at }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The scope types an access page lists, from the top down. */
const SCOPE_LEVELS = ['organization', 'project', 'resource'] as const;

/** An assignment as access pages and the API show it: who, which role, where, until when. */
export interface AssignmentListing {
  assignment_id: string;
  user_id: string;
  email: string | null;
  name: string | null;
  role_id: string;
  role_name: string;
  scope_type: ScopeType;
  scope_id: string;
  /** The name of the organization, project or resource the assignment is on. */
  scope_name: string;
  expires_at: Date | null;
  /** Expired assignments grant nothing; they stay listed until housekeeping deletes them. */
  expired: boolean;
  created_by: string | null;
  created_at: Date;
}

export interface RoleOption {
  role_id: string;
  name: string;
  display_name: string;
  description: string;
  /** `control`: gates ktrlplane itself; `data`: what a data plane lets the holder do. */
  plane: 'control' | 'data';
  /** For data-plane roles, the resource types whose data planes read them (e.g. Konnektr.Graph). */
  resource_types: string[];
}

/** The permissions' product for control-plane actions (production's name). */
const CONTROL_PLANE = 'Konnektr.KtrlPlane';

/**
 * Resource type ids the data-plane permissions know under another name: ours was
 * `Konnektr.DigitalTwins` before production's `Konnektr.Graph` (issue 14), and rows may still carry it.
 */
const DATA_PLANE_TYPE_OF: Record<string, string> = { 'Konnektr.DigitalTwins': 'Konnektr.Graph' };

function listingQuery(db: Kysely<Database>) {
  return db
    .selectFrom('ktrlplane.role_assignments as ra')
    .innerJoin('ktrlplane.users as u', 'u.user_id', 'ra.user_id')
    .innerJoin('ktrlplane.roles as r', 'r.role_id', 'ra.role_id')
    .select([
      'ra.assignment_id',
      'ra.user_id',
      'u.email',
      'u.name',
      'ra.role_id',
      'r.display_name as role_name',
      'ra.scope_type',
      'ra.scope_id',
      'ra.expires_at',
      'ra.created_by',
      'ra.created_at',
    ]);
}

type ListingRow = Omit<AssignmentListing, 'scope_name' | 'expired'>;

function toListing(row: ListingRow, scopeName: string, now: Date): AssignmentListing {
  return {
    ...row,
    scope_name: scopeName,
    expired: row.expires_at !== null && row.expires_at.getTime() <= now.getTime(),
  };
}

/** Names of the organization, project and resource of a scope the caller may read. */
export interface ScopeNames {
  organization: string;
  project: string | null;
  resource: string | null;
}

export async function scopeNames(db: Kysely<Database>, scope: AuthorizedScope): Promise<ScopeNames> {
  const org = await db
    .selectFrom('ktrlplane.organizations')
    .select('name')
    .where('org_id', '=', scope.orgId)
    .executeTakeFirstOrThrow();
  const project = scope.projectId
    ? await db
        .selectFrom('ktrlplane.projects')
        .select('name')
        .where('project_id', '=', scope.projectId)
        .executeTakeFirst()
    : undefined;
  const resource = scope.resourceId
    ? await db
        .selectFrom('ktrlplane.resources')
        .select('name')
        .where('resource_id', '=', scope.resourceId)
        .executeTakeFirst()
    : undefined;
  return { organization: org.name, project: project?.name ?? null, resource: resource?.name ?? null };
}

/** The (type, id, name) of each level of a scope's chain, from the organization down to the scope. */
function chainLevels(scope: AuthorizedScope, names: ScopeNames) {
  const levels: Array<{ type: (typeof SCOPE_LEVELS)[number]; id: string; name: string }> = [
    { type: 'organization', id: scope.orgId, name: names.organization },
  ];
  if (scope.projectId)
    levels.push({ type: 'project', id: scope.projectId, name: names.project ?? scope.projectId });
  if (scope.resourceId)
    levels.push({ type: 'resource', id: scope.resourceId, name: names.resource ?? scope.resourceId });
  return levels.slice(0, SCOPE_LEVELS.indexOf(scope.type) + 1);
}

/**
 * Assignments on the scope itself (`direct`) and on the scopes above it (`inherited`: the
 * organization of a project, the organization and project of a resource), expired ones included
 * and marked. Tenancy: only scopes of `scope`'s own chain are read.
 */
export async function listAssignmentsForScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  now: Date,
): Promise<{ direct: AssignmentListing[]; inherited: AssignmentListing[]; names: ScopeNames }> {
  const names = await scopeNames(db, scope);
  const levels = chainLevels(scope, names);
  const rows = await listingQuery(db)
    .where((eb) =>
      eb.or(
        levels.map((level) =>
          eb.and([eb('ra.scope_type', '=', level.type), eb('ra.scope_id', '=', level.id)]),
        ),
      ),
    )
    .orderBy('u.email')
    .orderBy('ra.user_id')
    .orderBy('r.display_name')
    .execute();
  const nameOf = new Map(levels.map((level) => [`${level.type}/${level.id}`, level.name]));
  const order = (type: ScopeType) => SCOPE_LEVELS.indexOf(type as (typeof SCOPE_LEVELS)[number]);
  const listings = rows.map((row) =>
    toListing(row, nameOf.get(`${row.scope_type}/${row.scope_id}`) ?? row.scope_id, now),
  );
  return {
    direct: listings.filter((row) => row.scope_type === scope.type),
    inherited: listings
      .filter((row) => row.scope_type !== scope.type)
      .sort((a, b) => order(a.scope_type) - order(b.scope_type)),
    names,
  };
}

/** One assignment of exactly this scope; an assignment of any other scope is not found. */
export async function findAssignmentAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
): Promise<RoleAssignment | undefined> {
  return db
    .selectFrom('ktrlplane.role_assignments')
    .selectAll()
    .where('assignment_id', '=', assignmentId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .executeTakeFirst();
}

/** The listing of one assignment of this scope (for re-rendering a row after a change). */
export async function findAssignmentListing(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
  now: Date,
): Promise<AssignmentListing | undefined> {
  const row = await listingQuery(db)
    .where('ra.assignment_id', '=', assignmentId)
    .where('ra.scope_type', '=', scope.type)
    .where('ra.scope_id', '=', scope.id)
    .executeTakeFirst();
  if (!row) return undefined;
  const levels = chainLevels(scope, await scopeNames(db, scope));
  return toListing(row, levels.at(-1)?.name ?? scope.id, now);
}

/** The assignment of `roleId` to `userId` on exactly this scope, if there is one. */
export async function findAssignmentFor(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  userId: string,
  roleId: string,
): Promise<RoleAssignment | undefined> {
  return db
    .selectFrom('ktrlplane.role_assignments')
    .selectAll()
    .where('user_id', '=', userId)
    .where('role_id', '=', roleId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .executeTakeFirst();
}

export async function updateAssignmentAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
  changes: { role_id?: string; expires_at?: Date | null },
): Promise<RoleAssignment | undefined> {
  return db
    .updateTable('ktrlplane.role_assignments')
    .set(changes)
    .where('assignment_id', '=', assignmentId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteAssignmentAtScope(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  assignmentId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('ktrlplane.role_assignments')
    .where('assignment_id', '=', assignmentId)
    .where('scope_type', '=', scope.type)
    .where('scope_id', '=', scope.id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/**
 * Locks the Owner assignments of the scope's organization and answers those unexpired at `now`.
 * Two owners removing each other at the same moment serialise here, so the second sees that it
 * would remove the last one.
 */
export async function lockUnexpiredOrganizationOwners(
  trx: Transaction<Database>,
  scope: AuthorizedScope,
  now: Date,
): Promise<Array<{ assignment_id: string }>> {
  const rows = await trx
    .selectFrom('ktrlplane.role_assignments')
    .select(['assignment_id', 'expires_at'])
    .where('scope_type', '=', 'organization')
    .where('scope_id', '=', scope.orgId)
    .where('role_id', '=', ROLE.owner)
    .forUpdate()
    .execute();
  return rows.filter((row) => row.expires_at === null || row.expires_at.getTime() > now.getTime());
}

/** Assignments on the scope's organization or on any of its projects and resources. */
function memberAssignments(db: Kysely<Database>, orgId: string) {
  return db
    .selectFrom('ktrlplane.role_assignments as m')
    .select('m.user_id')
    .where((eb) =>
      eb.or([
        eb.and([eb('m.scope_type', '=', 'organization'), eb('m.scope_id', '=', orgId)]),
        eb.and([
          eb('m.scope_type', '=', 'project'),
          eb(
            'm.scope_id',
            'in',
            eb.selectFrom('ktrlplane.projects as p').select('p.project_id').where('p.org_id', '=', orgId),
          ),
        ]),
        eb.and([
          eb('m.scope_type', '=', 'resource'),
          eb(
            'm.scope_id',
            'in',
            eb
              .selectFrom('ktrlplane.resources as rs')
              .innerJoin('ktrlplane.projects as p', 'p.project_id', 'rs.project_id')
              .select('rs.resource_id')
              .where('p.org_id', '=', orgId),
          ),
        ]),
      ]),
    );
}

/**
 * A member of the scope's organization: a user holding any assignment on the organization or on one
 * of its projects or resources. Answers undefined for everyone else, so a foreign user id is
 * indistinguishable from an unknown one.
 */
export async function findOrganizationMember(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  userId: string,
): Promise<User | undefined> {
  return db
    .selectFrom('ktrlplane.users as u')
    .selectAll('u')
    .where('u.user_id', '=', userId)
    .where('u.user_id', 'in', memberAssignments(db, scope.orgId))
    .executeTakeFirst();
}

/**
 * Whether two users are members (any assignment, as in memberAssignments) of at least one common
 * organization.
 */
export async function shareAnOrganization(db: Kysely<Database>, a: string, b: string): Promise<boolean> {
  const result = await sql<{ shared: boolean }>`
    WITH memberships AS (
      SELECT m.user_id,
        CASE m.scope_type
          WHEN 'organization' THEN m.scope_id
          WHEN 'project' THEN p.org_id
          WHEN 'resource' THEN rp.org_id
        END AS org_id
      FROM ktrlplane.role_assignments m
      LEFT JOIN ktrlplane.projects p ON m.scope_type = 'project' AND p.project_id = m.scope_id
      LEFT JOIN ktrlplane.resources r ON m.scope_type = 'resource' AND r.resource_id = m.scope_id
      LEFT JOIN ktrlplane.projects rp ON rp.project_id = r.project_id
      WHERE m.user_id IN (${a}, ${b})
    )
    SELECT EXISTS (
      SELECT 1 FROM memberships x JOIN memberships y ON x.org_id = y.org_id
      WHERE x.user_id = ${a} AND y.user_id = ${b}
    ) AS shared`.execute(db);
  return result.rows[0]?.shared === true;
}

export interface Candidate {
  user_id: string;
  email: string | null;
  name: string | null;
  /** False for a user found only by an exact email match. */
  member: boolean;
}

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/**
 * Users a granter may pick: members of the scope's organization whose email or name contains
 * `query`, plus the one user whose email is exactly `query` if they share an organization with
 * the granter (members of the granter's other organizations). Never a listing of users outside
 * the organization, and never a confirmation that a stranger's address has an account here.
 */
export async function searchGrantCandidates(
  db: Kysely<Database>,
  scope: AuthorizedScope,
  granterId: string,
  query: string,
  limit: number,
): Promise<Candidate[]> {
  const q = query.trim();
  let members = db
    .selectFrom('ktrlplane.users as u')
    .select(['u.user_id', 'u.email', 'u.name'])
    .where('u.user_id', 'in', memberAssignments(db, scope.orgId));
  if (q) {
    const pattern = likePattern(q);
    members = members.where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['u.email']), 'like', pattern),
        eb(eb.fn('lower', ['u.name']), 'like', pattern),
      ]),
    );
  }
  const rows = await members.orderBy('u.email').orderBy('u.user_id').limit(limit).execute();
  const found: Candidate[] = rows.map((row) => ({ ...row, member: true }));
  if (q.includes('@') && !found.some((row) => row.email?.toLowerCase() === q.toLowerCase())) {
    const exact = await db
      .selectFrom('ktrlplane.users')
      .select(['user_id', 'email', 'name'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', q.toLowerCase()))
      .executeTakeFirst();
    if (exact && !(await shareAnOrganization(db, granterId, exact.user_id))) return found;
    if (exact) {
      const member = (await findOrganizationMember(db, scope, exact.user_id)) !== undefined;
      found.unshift({ ...exact, member });
    }
  }
  return found;
}

/**
 * Roles a granter may choose on `scope`, in production's display order: never the hidden ones
 * (service-account roles; a command grants those), and on a resource only the data-plane roles of
 * its type (a Graph role means nothing on a flow engine). On an organization or a project every
 * data-plane role is offered: it applies to the resources of its type below.
 */
export async function listGrantableRoles(
  db: Kysely<Database>,
  scope: AuthorizedScope,
): Promise<RoleOption[]> {
  const [rows, resource] = await Promise.all([
    db
      .selectFrom('ktrlplane.roles as r')
      .select([
        'r.role_id',
        'r.name',
        'r.display_name',
        'r.description',
        sql<string[]>`coalesce((
          SELECT array_agg(DISTINCT p.resource_type ORDER BY p.resource_type)
            FROM ktrlplane.role_permissions rp
            JOIN ktrlplane.permissions p ON p.permission_id = rp.permission_id
           WHERE rp.role_id = r.role_id), '{}')`.as('types'),
      ])
      .where('r.is_hidden', '=', false)
      .orderBy('r.display_order')
      .orderBy('r.display_name')
      .execute(),
    scope.resourceId
      ? db
          .selectFrom('ktrlplane.resources')
          .select('type')
          .where('resource_id', '=', scope.resourceId)
          .executeTakeFirst()
      : undefined,
  ]);
  const roles = rows.map(({ types, ...row }): RoleOption => {
    const dataTypes = types.filter((type) => type !== CONTROL_PLANE);
    return { ...row, plane: dataTypes.length > 0 ? 'data' : 'control', resource_types: dataTypes };
  });
  if (scope.type !== 'resource' || !resource) return roles;
  const type = DATA_PLANE_TYPE_OF[resource.type] ?? resource.type;
  return roles.filter((role) => role.plane === 'control' || role.resource_types.includes(type));
}

/** A role by id or by name, hidden ones included (for the operator's grant command). */
export async function findRole(
  db: Kysely<Database>,
  idOrName: string,
): Promise<{ role_id: string; name: string; display_name: string; is_hidden: boolean } | undefined> {
  return db
    .selectFrom('ktrlplane.roles')
    .select(['role_id', 'name', 'display_name', 'is_hidden'])
    .where((eb) => eb.or([eb('role_id', '=', idOrName), eb('name', '=', idOrName)]))
    .orderBy('display_order')
    .executeTakeFirst();
}

/** Every role, hidden ones included, in display order (to list the choices of the grant command). */
export async function listAllRoles(db: Kysely<Database>): Promise<Array<{ role_id: string; name: string }>> {
  return db.selectFrom('ktrlplane.roles').select(['role_id', 'name']).orderBy('display_order').execute();
}
