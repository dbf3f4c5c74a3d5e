import { type Kysely, sql } from 'kysely';
import type { AccountKey } from './billing.repository.ts';
import type { Database } from './types.ts';

/**
 * Reads over the usage aggregates for billing (quotas, insights). The tables belong to the usage
 * pipeline (migration 0009); these functions only read them.
 */

/** Billing accounts (with their organization) that used any of `metrics` since `since`. */
export async function accountsWithUsageSince(
  db: Kysely<Database>,
  metrics: readonly string[],
  since: Date,
): Promise<Array<AccountKey & { org_id: string }>> {
  if (metrics.length === 0) return [];
  const rows = await db
    .selectFrom('ktrlplane.usage_hourly')
    .select(['scope_type', 'scope_id', 'org_id'])
    .distinct()
    .where('metric', 'in', [...metrics])
    .where('hour', '>=', since)
    .orderBy('scope_type')
    .orderBy('scope_id')
    .execute();
  return rows;
}

/**
 * The last hour each resource of the account had usage of `metrics` (reported usage, API calls
 * attributed to it), or nothing for resources without any since `since`.
 */
export async function lastActivityOfResources(
  db: Kysely<Database>,
  key: AccountKey,
  metrics: readonly string[],
  since: Date,
): Promise<Map<string, Date>> {
  if (metrics.length === 0) return new Map();
  const rows = await db
    .selectFrom('ktrlplane.usage_hourly')
    .select(['resource_id', sql<Date>`max(hour)`.as('last_hour')])
    .where('scope_type', '=', key.scope_type)
    .where('scope_id', '=', key.scope_id)
    .where('metric', 'in', [...metrics])
    .where('resource_id', '!=', '')
    .where('hour', '>=', since)
    .where('quantity', '>', '0')
    .groupBy('resource_id')
    .execute();
  return new Map(rows.map((row) => [row.resource_id, new Date(row.last_hour)]));
}

/** The account's projects with API calls since `since` (calls are counted per project). */
export async function projectsWithApiCallsSince(
  db: Kysely<Database>,
  key: AccountKey,
  since: Date,
): Promise<Set<string>> {
  let query = db
    .selectFrom('ktrlplane.api_usage_minutes')
    .select('project_id')
    .distinct()
    .where('minute', '>=', since)
    .where('project_id', '!=', '');
  if (key.scope_type === 'organization') query = query.where('org_id', '=', key.scope_id);
  else query = query.where('project_id', '=', key.scope_id);
  const rows = await query.execute();
  return new Set(rows.map((row) => row.project_id));
}
