import { type Kysely, sql } from 'kysely';
import { SECRET_TYPE_ID } from '../schemas/resource-types/registry.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database } from './types.ts';

/**
 * Reads for Konnektr.Secret resources and the settings that refer to them, always within one
 * project (the scope the caller was authorized for): a reference never reaches another project.
 */

/** The project a scope sits in (a project scope is its own). */
function projectOf(scope: AuthorizedScope<'project' | 'resource'>): string {
  return scope.type === 'project' ? scope.id : (scope.projectId ?? '');
}

/** The project's Secrets with their entry keys (never their values), by name. */
export async function listSecretKeysInProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project' | 'resource'>,
): Promise<Array<{ resource_id: string; name: string; keys: string[] }>> {
  const rows = await db
    .selectFrom('ktrlplane.resources')
    .select([
      'resource_id',
      'name',
      sql<string[] | null>`(
      SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(settings_json -> 'entries') AS k)`.as('keys'),
    ])
    .where('project_id', '=', projectOf(scope))
    .where('type', '=', SECRET_TYPE_ID)
    .where('deployment_state', '!=', 'deleting')
    .orderBy('name')
    .execute();
  return rows.map((row) => ({ resource_id: row.resource_id, name: row.name, keys: row.keys ?? [] }));
}

/**
 * Resources of the project whose settings mention a secretKeyRef (a cheap text filter; the caller
 * walks the settings to find the actual references), other than `exceptResourceId`.
 */
export async function listResourcesWithSecretRefs(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project' | 'resource'>,
  exceptResourceId: string | null,
): Promise<
  Array<{ resource_id: string; name: string; type: string; settings_json: Record<string, unknown> }>
> {
  let query = db
    .selectFrom('ktrlplane.resources')
    .select(['resource_id', 'name', 'type', 'settings_json'])
    .where('project_id', '=', projectOf(scope))
    .where(sql<boolean>`settings_json::text LIKE '%"secretKeyRef"%'`);
  if (exceptResourceId) query = query.where('resource_id', '!=', exceptResourceId);
  return query.orderBy('resource_id').execute();
}

/** Every Secret (all projects) with its organization, locked: a concurrent edit waits (re-encryption). */
export async function lockAllSecrets(
  db: Kysely<Database>,
): Promise<
  Array<{ resource_id: string; project_id: string; org_id: string; settings_json: Record<string, unknown> }>
> {
  const rows = await sql<{
    resource_id: string;
    project_id: string;
    org_id: string;
    settings_json: Record<string, unknown>;
  }>`
    SELECT r.resource_id, r.project_id, p.org_id, r.settings_json
    FROM ktrlplane.resources AS r JOIN ktrlplane.projects AS p ON p.project_id = r.project_id
    WHERE r.type = ${SECRET_TYPE_ID}
    ORDER BY r.resource_id
    FOR UPDATE OF r`.execute(db);
  return rows.rows;
}

/**
 * Rewrites a Secret's settings_json after re-encryption. The generation stays (nothing a user
 * changed); updated_at moves by the trigger, so the operator renders the Secret again, with the
 * same plaintext, from the newly sealed values.
 */
export async function replaceSealedSettings(
  db: Kysely<Database>,
  resourceId: string,
  settings: Record<string, unknown>,
): Promise<void> {
  await db
    .updateTable('ktrlplane.resources')
    .set({ settings_json: JSON.stringify(settings) as never })
    .where('resource_id', '=', resourceId)
    .where('type', '=', SECRET_TYPE_ID)
    .execute();
}
