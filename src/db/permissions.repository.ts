import { type Kysely, sql } from 'kysely';
import type { ScopeChain, TenantScopeType } from './scopes.repository.ts';
import type { Database } from './types.ts';

/**
 * The actions a user holds on a scope: the union of every unexpired assignment on the scope itself,
 * on the scopes above it (organization → project → resource) and at `global`.
 */
export async function actionsForUser(
  db: Kysely<Database>,
  userId: string,
  chain: ScopeChain | 'global',
  now: Date,
): Promise<string[]> {
  const rows = await db
    .selectFrom('ktrlplane.role_assignments as ra')
    .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'ra.role_id')
    .innerJoin('ktrlplane.permissions as p', 'p.permission_id', 'rp.permission_id')
    .select('p.action')
    .distinct()
    .where('ra.user_id', '=', userId)
    .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]))
    .where((eb) => {
      const scopes = [eb.and([eb('ra.scope_type', '=', 'global'), eb('ra.scope_id', '=', 'global')])];
      if (chain !== 'global') {
        scopes.push(eb.and([eb('ra.scope_type', '=', 'organization'), eb('ra.scope_id', '=', chain.orgId)]));
        if (chain.projectId)
          scopes.push(eb.and([eb('ra.scope_type', '=', 'project'), eb('ra.scope_id', '=', chain.projectId)]));
        if (chain.resourceId)
          scopes.push(
            eb.and([eb('ra.scope_type', '=', 'resource'), eb('ra.scope_id', '=', chain.resourceId)]),
          );
      }
      return eb.or(scopes);
    })
    .execute();
  return rows.map((row) => row.action).sort();
}

/**
 * A scope's chain and the user's actions on it in one round trip (the permission check runs on
 * every request). Null when the scope does not exist. `global: false` leaves out assignments at
 * `global` scope, as the data planes' permission check always did (see routes/permissions.tsx).
 */
export async function scopeWithActions(
  db: Kysely<Database>,
  userId: string,
  type: TenantScopeType,
  id: string,
  now: Date,
  options: { global: boolean } = { global: true },
): Promise<{ chain: ScopeChain; actions: string[] } | null> {
  const chainQuery =
    type === 'organization'
      ? sql`SELECT o.org_id, NULL::text AS project_id, NULL::text AS resource_id FROM ktrlplane.organizations o WHERE o.org_id = ${id}`
      : type === 'project'
        ? sql`SELECT p.org_id, p.project_id, NULL::text AS resource_id FROM ktrlplane.projects p WHERE p.project_id = ${id}`
        : sql`SELECT p.org_id, r.project_id, r.resource_id FROM ktrlplane.resources r
                JOIN ktrlplane.projects p ON p.project_id = r.project_id WHERE r.resource_id = ${id}`;
  const result = await sql<{
    org_id: string;
    project_id: string | null;
    resource_id: string | null;
    actions: string[] | null;
  }>`
    WITH chain AS (${chainQuery})
    SELECT chain.org_id, chain.project_id, chain.resource_id,
      (SELECT array_agg(DISTINCT perm.action ORDER BY perm.action)
         FROM ktrlplane.role_assignments ra
         JOIN ktrlplane.role_permissions rp ON rp.role_id = ra.role_id
         JOIN ktrlplane.permissions perm ON perm.permission_id = rp.permission_id
        WHERE ra.user_id = ${userId}
          AND (ra.expires_at IS NULL OR ra.expires_at > ${now})
          AND ((${options.global}::boolean AND ra.scope_type = 'global' AND ra.scope_id = 'global')
            OR (ra.scope_type = 'organization' AND ra.scope_id = chain.org_id)
            OR (ra.scope_type = 'project' AND ra.scope_id = chain.project_id)
            OR (ra.scope_type = 'resource' AND ra.scope_id = chain.resource_id))) AS actions
    FROM chain`.execute(db);
  const row = result.rows[0];
  if (!row) return null;
  return {
    chain: { orgId: row.org_id, projectId: row.project_id, resourceId: row.resource_id },
    actions: row.actions ?? [],
  };
}

/**
 * The user's unexpired assignments whose role grants `read`, as a subquery for listing what they
 * can see across scopes (select `ra.scope_id` filtered by `ra.scope_type`).
 */
export function readingAssignments(db: Kysely<Database>, userId: string, now: Date) {
  return db
    .selectFrom('ktrlplane.role_assignments as ra')
    .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'ra.role_id')
    .innerJoin('ktrlplane.permissions as perm', 'perm.permission_id', 'rp.permission_id')
    .where('ra.user_id', '=', userId)
    .where('perm.action', '=', 'read')
    .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]));
}
