import type { Kysely } from 'kysely';
import type { Database, RoleAssignment, ScopeType } from './types.ts';

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
