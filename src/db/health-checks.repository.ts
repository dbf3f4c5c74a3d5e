import type { Kysely, Selectable } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, ResourceHealthChecksTable } from './types.ts';

export type HealthCheck = Selectable<ResourceHealthChecksTable>;

/**
 * Deployed resources that have an access URL, across tenants, least recently probed first — only
 * for the probe job, which reads nothing else of them.
 */
export async function resourcesToProbe(
  db: Kysely<Database>,
  limit: number,
): Promise<Array<{ resource_id: string; type: string; access_url: string }>> {
  const rows = await db
    .selectFrom('ktrlplane.resources as r')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('ktrlplane.resource_health_checks')
          .select(['resource_id', (x) => x.fn.max('checked_at').as('last_checked')])
          .groupBy('resource_id')
          .as('c'),
      (join) => join.onRef('c.resource_id', '=', 'r.resource_id'),
    )
    .select(['r.resource_id', 'r.type', 'r.access_url'])
    .where('r.deployment_state', '=', 'deployed')
    .where('r.access_url', 'is not', null)
    .orderBy('c.last_checked', (ob) => ob.asc().nullsFirst())
    .limit(limit)
    .execute();
  return rows.filter((row): row is typeof row & { access_url: string } => row.access_url !== null);
}

export async function insertHealthChecks(
  db: Kysely<Database>,
  checks: Array<Omit<HealthCheck, 'check_id'>>,
): Promise<void> {
  if (checks.length === 0) return;
  // A resource deleted while it was probed has no row to attach the result to any more.
  const ids = checks.map((check) => check.resource_id);
  const existing = new Set(
    (
      await db
        .selectFrom('ktrlplane.resources')
        .select('resource_id')
        .where('resource_id', 'in', ids)
        .execute()
    ).map((row) => row.resource_id),
  );
  const kept = checks.filter((check) => existing.has(check.resource_id));
  if (kept.length > 0) await db.insertInto('ktrlplane.resource_health_checks').values(kept).execute();
}

/** The latest probe of a resource, if any. */
export async function latestHealthCheck(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
): Promise<HealthCheck | undefined> {
  return db
    .selectFrom('ktrlplane.resource_health_checks')
    .selectAll()
    .where('resource_id', '=', scope.id)
    .orderBy('checked_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function deleteHealthChecksBefore(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.resource_health_checks')
    .where('checked_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
