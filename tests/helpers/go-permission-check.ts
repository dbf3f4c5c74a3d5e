import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/types.ts';

/**
 * The answer the Go service's permission check gave for the same rows, written from what its
 * query does (konnektr-io/ktrlplane, internal/db/rbac_queries.go, ListPermissions): the distinct
 * actions of the user's unexpired assignments on the scope itself (whether or not it exists), on
 * the organization of a project, and on the project and organization of a resource. Assignments at
 * `global` never count. Used as the oracle the live answer must equal.
 *
 * The stored copy of that query filters on `resource_type = 'Konnektr.KtrlPlane'`; production's data
 * plane matches data-plane strings in the answer, so the running version cannot have filtered, and
 * this oracle does not.
 */
export async function goPermissionCheck(
  db: Kysely<Database>,
  userId: string,
  scopeType: string,
  scopeId: string,
  now: Date,
): Promise<string[]> {
  const result = await sql<{ action: string }>`
    SELECT DISTINCT p.action
      FROM ktrlplane.role_assignments ra
      JOIN ktrlplane.role_permissions rp ON rp.role_id = ra.role_id
      JOIN ktrlplane.permissions p ON p.permission_id = rp.permission_id
     WHERE ra.user_id = ${userId}
       AND (ra.expires_at IS NULL OR ra.expires_at > ${now})
       AND (
         (ra.scope_type = ${scopeType} AND ra.scope_id = ${scopeId})
         OR (${scopeType} = 'project' AND ra.scope_type = 'organization'
             AND ra.scope_id IN (SELECT org_id FROM ktrlplane.projects WHERE project_id = ${scopeId}))
         OR (${scopeType} = 'resource' AND ra.scope_type = 'project'
             AND ra.scope_id IN (SELECT project_id FROM ktrlplane.resources WHERE resource_id = ${scopeId}))
         OR (${scopeType} = 'resource' AND ra.scope_type = 'organization'
             AND ra.scope_id IN (SELECT pr.org_id FROM ktrlplane.resources r
                                   JOIN ktrlplane.projects pr ON pr.project_id = r.project_id
                                  WHERE r.resource_id = ${scopeId})))`.execute(db);
  return result.rows.map((row) => row.action).sort();
}
