import type { Kysely } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, Resource } from './types.ts';

/**
 * The current deployment state of resources (the columns a deployment summary is computed from),
 * read for the events of the SSE streams: each event carries the state its resource is in now.
 */
export type ResourceState = Pick<
  Resource,
  | 'resource_id'
  | 'project_id'
  | 'name'
  | 'type'
  | 'sku'
  | 'updated_at'
  | 'status'
  | 'status_changed_at'
  | 'generation'
  | 'observed_generation'
  | 'deployment_state'
  | 'error_message'
>;

const STATE_COLUMNS = [
  'resource_id',
  'project_id',
  'name',
  'type',
  'sku',
  'updated_at',
  'status',
  'status_changed_at',
  'generation',
  'observed_generation',
  'deployment_state',
  'error_message',
] as const;

/**
 * States of `resourceIds` inside the authorized scope (the resource itself, or resources of the
 * project). Ids outside it are simply absent.
 */
export async function resourceStatesInScope(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'> | AuthorizedScope<'resource'>,
  resourceIds: readonly string[],
): Promise<ResourceState[]> {
  if (resourceIds.length === 0) return [];
  let query = db.selectFrom('ktrlplane.resources').select(STATE_COLUMNS);
  query =
    scope.type === 'resource'
      ? query.where('resource_id', '=', scope.id)
      : query.where('project_id', '=', scope.id).where('resource_id', 'in', resourceIds);
  return query.execute();
}

/**
 * States of `resourceIds` of all tenants — only for the process-wide fan-out hub, which hands each
 * state only to subscribers authorized for its resource or project.
 */
export async function resourceStatesForFanOut(
  db: Kysely<Database>,
  resourceIds: readonly string[],
): Promise<ResourceState[]> {
  if (resourceIds.length === 0) return [];
  return db
    .selectFrom('ktrlplane.resources')
    .select(STATE_COLUMNS)
    .where('resource_id', 'in', resourceIds)
    .execute();
}
