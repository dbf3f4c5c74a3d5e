import { type Kysely, sql } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database } from './types.ts';

/**
 * API traffic per minute of a project or organization, read from ktrlplane.api_usage_minutes
 * (written by the API call counting middleware, one row per org/project/token/minute). Rows of
 * every token are added up per minute; latency histograms are added bucket by bucket.
 */
export interface ApiMinute {
  minute: Date;
  requests: number;
  client_errors: number;
  server_errors: number;
  duration_ms_sum: number;
  duration_buckets: number[];
}

export async function apiUsageByMinute(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'> | AuthorizedScope<'organization'>,
  range: { from: Date; to: Date },
): Promise<ApiMinute[]> {
  const where =
    scope.type === 'project'
      ? sql`org_id = ${scope.orgId} AND project_id = ${scope.id}`
      : sql`org_id = ${scope.id}`;
  const { rows } = await sql<{
    minute: Date | string;
    requests: number | string;
    client_errors: number | string;
    server_errors: number | string;
    duration_ms_sum: number | string;
    duration_buckets: Array<number | string> | null;
  }>`
    SELECT minute, requests, client_errors, server_errors, duration_ms_sum, duration_buckets
    FROM ktrlplane.api_usage_minutes
    WHERE ${where} AND minute > ${range.from} AND minute <= ${range.to}
    ORDER BY minute
  `.execute(db);
  const byMinute = new Map<number, ApiMinute>();
  for (const row of rows) {
    const minute = new Date(row.minute);
    const key = minute.getTime();
    let total = byMinute.get(key);
    if (!total) {
      total = {
        minute,
        requests: 0,
        client_errors: 0,
        server_errors: 0,
        duration_ms_sum: 0,
        duration_buckets: [],
      };
      byMinute.set(key, total);
    }
    // pg returns numbers of int and double columns; normalise anyway (sums can come as strings).
    total.requests += Number(row.requests);
    total.client_errors += Number(row.client_errors);
    total.server_errors += Number(row.server_errors);
    total.duration_ms_sum += Number(row.duration_ms_sum);
    (row.duration_buckets ?? []).forEach((count, index) => {
      total.duration_buckets[index] = (total.duration_buckets[index] ?? 0) + Number(count);
    });
  }
  return [...byMinute.values()];
}
