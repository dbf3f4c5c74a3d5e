import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

/** Platform-wide maintenance (no tenant scope): removes assignments that expired before `before`. */
export async function deleteExpiredRoleAssignments(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.role_assignments')
    .where('expires_at', 'is not', null)
    .where('expires_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
