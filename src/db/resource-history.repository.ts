import type { Kysely } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database } from './types.ts';

/**
 * Resource statuses over a time range, from the status history (resource_deployments): for each
 * resource of the project, the status it had at `from` (its last event before) and every change
 * up to `to`. Control-plane metrics and alert rules replay it to know the status at any instant.
 */
type ProjectOrOrganization = AuthorizedScope<'project'> | AuthorizedScope<'organization'>;

export interface StatusChange {
  resource_id: string;
  status: string;
  at: Date;
}

export async function statusChangesInRange(
  db: Kysely<Database>,
  scope: ProjectOrOrganization,
  range: { from: Date; to: Date; resourceId?: string | undefined },
): Promise<StatusChange[]> {
  const base = () => {
    const query = db.selectFrom('ktrlplane.resource_deployments as d');
    const scoped =
      scope.type === 'project'
        ? query.where('d.project_id', '=', scope.id)
        : query
            .innerJoin('ktrlplane.projects as p', 'p.project_id', 'd.project_id')
            .where('p.org_id', '=', scope.id);
    return range.resourceId ? scoped.where('d.resource_id', '=', range.resourceId) : scoped;
  };
  const [initial, changes] = await Promise.all([
    base()
      .distinctOn('d.resource_id')
      .select(['d.resource_id', 'd.status', 'd.at'])
      .where('d.at', '<=', range.from)
      .orderBy('d.resource_id')
      .orderBy('d.event_id', 'desc')
      .execute(),
    base()
      .select(['d.resource_id', 'd.status', 'd.at'])
      .where('d.at', '>', range.from)
      .where('d.at', '<=', range.to)
      .orderBy('d.event_id')
      .execute(),
  ]);
  return [...initial, ...changes];
}

/** Transitions into one of `statuses` in the range, with their times (deployments by status). */
export async function statusTransitionsInRange(
  db: Kysely<Database>,
  scope: ProjectOrOrganization,
  range: { from: Date; to: Date },
): Promise<Array<{ status: string; at: Date }>> {
  let query = db
    .selectFrom('ktrlplane.resource_deployments as d')
    .select(['d.status', 'd.at'])
    .where('d.at', '>', range.from)
    .where('d.at', '<=', range.to);
  if (scope.type === 'project') query = query.where('d.project_id', '=', scope.id);
  else {
    query = query
      .innerJoin('ktrlplane.projects as p', 'p.project_id', 'd.project_id')
      .where('p.org_id', '=', scope.id);
  }
  return query.orderBy('d.event_id').execute();
}
