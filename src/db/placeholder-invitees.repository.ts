import { type Kysely, sql } from 'kysely';
import type { Database, User } from './types.ts';

/**
 * A placeholder invitee of the Go service: a user row created at invitation time whose user_id is
 * the invited email (case aside), with no password here. Adopted databases carry them over.
 */
export function isPlaceholderInvitee(user: Pick<User, 'user_id' | 'email'>): boolean {
  return (
    user.user_id.includes('@') &&
    user.email !== null &&
    user.user_id.toLowerCase() === user.email.toLowerCase()
  );
}

export async function hasLocalPassword(db: Kysely<Database>, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('ktrlplane.local_credentials')
    .select('user_id')
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Boolean(row);
}

/**
 * Moves the placeholder's role assignments to `userId` (one the user already holds for the same
 * role and scope stays as it is) and deletes the placeholder; answers how many moved and on which
 * organizations (for the audit log). Call it in a transaction.
 */
export async function transferPlaceholderAssignments(
  db: Kysely<Database>,
  placeholderId: string,
  userId: string,
): Promise<{ moved: number; orgIds: string[] }> {
  const moved = await sql<{ scope_type: string; scope_id: string }>`
    UPDATE ktrlplane.role_assignments ra SET user_id = ${userId}
    WHERE ra.user_id = ${placeholderId}
      AND NOT EXISTS (SELECT 1 FROM ktrlplane.role_assignments mine
                      WHERE mine.user_id = ${userId} AND mine.role_id = ra.role_id
                        AND mine.scope_type = ra.scope_type AND mine.scope_id = ra.scope_id)
    RETURNING ra.scope_type, ra.scope_id`.execute(db);
  await db.deleteFrom('ktrlplane.users').where('user_id', '=', placeholderId).execute();
  const orgIds = await sql<{ org_id: string }>`
    SELECT DISTINCT coalesce(o.org_id, p.org_id, rp.org_id) AS org_id
    FROM (VALUES ${sql.join(
      moved.rows.length > 0
        ? moved.rows.map((row) => sql`(${row.scope_type}, ${row.scope_id})`)
        : [sql`(NULL::text, NULL::text)`],
    )}) AS s (scope_type, scope_id)
    LEFT JOIN ktrlplane.organizations o ON s.scope_type = 'organization' AND o.org_id = s.scope_id
    LEFT JOIN ktrlplane.projects p ON s.scope_type = 'project' AND p.project_id = s.scope_id
    LEFT JOIN ktrlplane.resources r ON s.scope_type = 'resource' AND r.resource_id = s.scope_id
    LEFT JOIN ktrlplane.projects rp ON rp.project_id = r.project_id
    WHERE coalesce(o.org_id, p.org_id, rp.org_id) IS NOT NULL
    ORDER BY 1`.execute(db);
  return { moved: moved.rows.length, orgIds: orgIds.rows.map((row) => row.org_id) };
}
