import type { Kysely } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, Resource } from './types.ts';

/** The resources of a project the caller may read (checked by `scope`). */
export async function listResourcesInProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
): Promise<Resource[]> {
  return db
    .selectFrom('ktrlplane.resources')
    .selectAll()
    .where('project_id', '=', scope.id)
    .orderBy('name')
    .execute();
}

/**
 * Every resource the user may read across projects: through a role with `read` on its
 * organization, its project or the resource itself. Optionally of one type.
 */
export async function listReadableResources(
  db: Kysely<Database>,
  user: { userId: string },
  filter: { type?: string | undefined },
  now: Date,
): Promise<Array<Resource & { org_id: string }>> {
  const readable = db
    .selectFrom('ktrlplane.role_assignments as ra')
    .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'ra.role_id')
    .innerJoin('ktrlplane.permissions as perm', 'perm.permission_id', 'rp.permission_id')
    .where('ra.user_id', '=', user.userId)
    .where('perm.action', '=', 'read')
    .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]));
  let query = db
    .selectFrom('ktrlplane.resources as r')
    .innerJoin('ktrlplane.projects as p', 'p.project_id', 'r.project_id')
    .selectAll('r')
    .select('p.org_id')
    .where((eb) =>
      eb.or([
        eb('p.org_id', 'in', readable.select('ra.scope_id').where('ra.scope_type', '=', 'organization')),
        eb('r.project_id', 'in', readable.select('ra.scope_id').where('ra.scope_type', '=', 'project')),
        eb('r.resource_id', 'in', readable.select('ra.scope_id').where('ra.scope_type', '=', 'resource')),
      ]),
    );
  if (filter.type) query = query.where('r.type', '=', filter.type);
  return query.orderBy('r.project_id').orderBy('r.name').execute();
}
