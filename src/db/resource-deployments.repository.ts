import type { Kysely, Selectable } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, ResourceDeploymentsTable } from './types.ts';

/**
 * The status history of resources (ktrlplane.resource_deployments, filled by a trigger). Event ids
 * follow commit order (see migration 0007), so "everything after id N" is a complete resume cursor.
 */
export type DeploymentEvent = Selectable<ResourceDeploymentsTable>;

/** Events of one resource after `after` (oldest first), at most `limit`. */
export async function listResourceEvents(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  options: { after?: number; limit: number },
): Promise<DeploymentEvent[]> {
  return db
    .selectFrom('ktrlplane.resource_deployments')
    .selectAll()
    .where('resource_id', '=', scope.id)
    .where('event_id', '>', options.after ?? 0)
    .orderBy('event_id')
    .limit(options.limit)
    .execute();
}

/** Events of every resource of a project after `after` (oldest first), at most `limit`. */
export async function listProjectEvents(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  options: { after?: number; limit: number },
): Promise<DeploymentEvent[]> {
  return db
    .selectFrom('ktrlplane.resource_deployments')
    .selectAll()
    .where('project_id', '=', scope.id)
    .where('event_id', '>', options.after ?? 0)
    .orderBy('event_id')
    .limit(options.limit)
    .execute();
}

/** The latest `limit` events of a resource, newest first (its timeline). */
export async function recentResourceEvents(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  limit: number,
): Promise<DeploymentEvent[]> {
  return db
    .selectFrom('ktrlplane.resource_deployments')
    .selectAll()
    .where('resource_id', '=', scope.id)
    .orderBy('event_id', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Every event after `after`, of all tenants — only for the process-wide fan-out hub, which
 * filters per subscriber by the scope each one was authorized for.
 */
export async function listEventsAfterForFanOut(
  db: Kysely<Database>,
  after: number,
  limit: number,
): Promise<DeploymentEvent[]> {
  return db
    .selectFrom('ktrlplane.resource_deployments')
    .selectAll()
    .where('event_id', '>', after)
    .orderBy('event_id')
    .limit(limit)
    .execute();
}

/** The newest event id (where a hub starts listening from). */
export async function latestEventId(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('ktrlplane.resource_deployments')
    .select((eb) => eb.fn.max('event_id').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}
