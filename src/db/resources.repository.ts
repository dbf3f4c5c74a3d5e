import { type Kysely, sql } from 'kysely';
import type { Principal } from '../services/principal.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { tokenScopeOf } from '../services/token-limits.ts';
import { readingAssignments } from './permissions.repository.ts';
import type { Database, DeploymentState, Resource } from './types.ts';

/** The resources of a project the caller may read (checked by `scope`). */
export async function listResourcesInProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
): Promise<Resource[]> {
  // Written out rather than built: the project's resource list is the API's hottest read.
  // sql.table keeps the table in the statement's trace span.
  const list = sql<Resource>`
    SELECT * FROM ${sql.table('ktrlplane.resources')} WHERE project_id = ${scope.id} ORDER BY name`;
  return (await list.execute(db)).rows;
}

/**
 * Every resource the caller may read across projects: through a role with `read` on its
 * organization, its project or the resource itself, narrowed to a calling token's scope.
 * Optionally of one type.
 */
export async function listReadableResources(
  db: Kysely<Database>,
  principal: Principal,
  filter: { type?: string | undefined },
  now: Date,
): Promise<Array<Resource & { org_id: string }>> {
  const readable = readingAssignments(db, principal.userId, now);
  const within = tokenScopeOf(principal);
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
  if (within.orgId) query = query.where('p.org_id', '=', within.orgId);
  if (within.projectId) query = query.where('r.project_id', '=', within.projectId);
  if (filter.type) query = query.where('r.type', '=', filter.type);
  return query.orderBy('r.project_id').orderBy('r.name').execute();
}

export async function resourceIdExists(db: Kysely<Database>, resourceId: string): Promise<boolean> {
  return Boolean(
    await db
      .selectFrom('ktrlplane.resources')
      .select('resource_id')
      .where('resource_id', '=', resourceId)
      .executeTakeFirst(),
  );
}

export async function getResource(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
): Promise<Resource> {
  return db
    .selectFrom('ktrlplane.resources')
    .selectAll()
    .where('resource_id', '=', scope.id)
    .executeTakeFirstOrThrow();
}

export async function insertResource(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  resource: {
    resource_id: string;
    name: string;
    type: string;
    sku: string;
    settings_json: Record<string, unknown>;
    status: string;
  },
  now: Date,
): Promise<Resource> {
  return db
    .insertInto('ktrlplane.resources')
    .values({
      ...resource,
      settings_json: JSON.stringify(resource.settings_json),
      project_id: scope.id,
      created_at: now,
      updated_at: now,
      status_changed_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Applies a user's change when the resource is still at `generation` (compare-and-set), bumping
 * the generation; answers undefined when someone else changed it first. Only the columns given
 * change: a rename never rewrites settings_json. updated_at moves with every change the operator
 * must see (the trigger does it for name, SKU and settings; status is set here explicitly).
 */
export async function updateResourceIfCurrent(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  generation: number,
  changes: { name?: string; sku?: string; settings_json?: Record<string, unknown>; status?: string },
  now: Date,
): Promise<Resource | undefined> {
  const { settings_json, ...rest } = changes;
  return db
    .updateTable('ktrlplane.resources')
    .set((eb) => ({
      ...rest,
      ...(settings_json ? { settings_json: JSON.stringify(settings_json) } : {}),
      // The app's clock dates its own status changes; the trigger dates the operator's.
      ...(rest.status ? { status_changed_at: now } : {}),
      generation: eb('generation', '+', 1),
      updated_at: now,
    }))
    .where('resource_id', '=', scope.id)
    .where('generation', '=', generation)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Moves a resource in or out of the operator's query (deploy, undeploy, delete). Bumps
 * `updated_at`, so the operator's change detection reconciles at once, and — for a deploy — the
 * generation, so the workload's annotation changes and the operator writes its status back.
 */
export async function setDeploymentState(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  change: { state: DeploymentState; status: string; bumpGeneration: boolean },
  now: Date,
): Promise<Resource> {
  return db
    .updateTable('ktrlplane.resources')
    .set((eb) => ({
      deployment_state: change.state,
      status: change.status,
      status_changed_at: now,
      updated_at: now,
      ...(change.bumpGeneration ? { generation: eb('generation', '+', 1) } : {}),
    }))
    .where('resource_id', '=', scope.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Undeploys the operator has had `before` to prune become `Undeployed`; deletions it has had
 * time to prune lose their row. Across tenants: this is the deployment job's housekeeping.
 */
export async function finishUndeploysBefore(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .updateTable('ktrlplane.resources')
    .set({ status: 'Undeployed' })
    .where('deployment_state', '=', 'undeployed')
    .where('status', '=', 'Undeploying')
    .where('status_changed_at', '<=', before)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function finishDeletionsBefore(db: Kysely<Database>, before: Date): Promise<string[]> {
  const rows = await db
    .deleteFrom('ktrlplane.resources')
    .where('deployment_state', '=', 'deleting')
    .where('status_changed_at', '<=', before)
    .returning('resource_id')
    .execute();
  return rows.map((row) => row.resource_id);
}
