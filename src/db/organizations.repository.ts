import type { Kysely, Transaction } from 'kysely';
import { ROLE } from '../lib/roles.ts';
import type { Principal } from '../services/principal.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { tokenScopeOf } from '../services/token-limits.ts';
import type { Database, Organization } from './types.ts';

/**
 * Organizations the caller holds a role on directly (any unexpired assignment at organization
 * scope), narrowed to a calling token's scope: its own organization, none for a project token.
 */
export async function listOrganizationsForUser(
  db: Kysely<Database>,
  principal: Principal,
  now: Date,
): Promise<Organization[]> {
  const within = tokenScopeOf(principal);
  if (within.projectId) return [];
  let query = db
    .selectFrom('ktrlplane.organizations as o')
    .selectAll('o')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('ktrlplane.role_assignments as ra')
          .select('ra.assignment_id')
          .whereRef('ra.scope_id', '=', 'o.org_id')
          .where('ra.scope_type', '=', 'organization')
          .where('ra.user_id', '=', principal.userId)
          .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)])),
      ),
    );
  if (within.orgId) query = query.where('o.org_id', '=', within.orgId);
  return query.orderBy('o.name').execute();
}

export async function organizationIdExists(db: Kysely<Database>, orgId: string): Promise<boolean> {
  return Boolean(
    await db
      .selectFrom('ktrlplane.organizations')
      .select('org_id')
      .where('org_id', '=', orgId)
      .executeTakeFirst(),
  );
}

/** Creates an organization and makes its creator the Owner, in the caller's transaction. */
export async function insertOrganization(
  trx: Transaction<Database>,
  creator: { userId: string },
  org: { org_id: string; name: string },
  now: Date,
): Promise<Organization> {
  const created = await trx
    .insertInto('ktrlplane.organizations')
    .values({ ...org, created_at: now, updated_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('ktrlplane.role_assignments')
    .values({
      user_id: creator.userId,
      role_id: ROLE.owner,
      scope_type: 'organization',
      scope_id: org.org_id,
      expires_at: null,
      created_by: creator.userId,
    })
    .execute();
  return created;
}

export async function getOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
): Promise<Organization> {
  return db
    .selectFrom('ktrlplane.organizations')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .executeTakeFirstOrThrow();
}

export async function updateOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  changes: { name: string },
  now: Date,
): Promise<Organization> {
  return db
    .updateTable('ktrlplane.organizations')
    .set({ ...changes, updated_at: now })
    .where('org_id', '=', scope.orgId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes the organization; its projects, resources, assignments and billing accounts go with it. */
export async function deleteOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
): Promise<void> {
  await db.deleteFrom('ktrlplane.organizations').where('org_id', '=', scope.orgId).execute();
}

/** The name of the organization a project or resource the caller may read belongs to. */
export async function getOrganizationName(db: Kysely<Database>, scope: AuthorizedScope): Promise<string> {
  const row = await db
    .selectFrom('ktrlplane.organizations')
    .select('name')
    .where('org_id', '=', scope.orgId)
    .executeTakeFirstOrThrow();
  return row.name;
}
