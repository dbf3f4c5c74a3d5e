import { type Kysely, sql } from 'kysely';
import type { Database } from './types.ts';

/**
 * Counts one hit in a fixed window and answers the count in the current window. One atomic
 * upsert, so concurrent requests on several instances count correctly.
 */
export async function hitRateLimit(
  db: Kysely<Database>,
  bucket: string,
  windowMs: number,
  now: Date,
): Promise<{ hits: number; windowStart: Date }> {
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const row = await db
    .insertInto('ktrlplane.rate_limits')
    .values({ bucket, window_start: windowStart, hits: 1 })
    .onConflict((oc) =>
      oc.column('bucket').doUpdateSet({
        hits: sql`CASE WHEN ktrlplane.rate_limits.window_start = excluded.window_start THEN ktrlplane.rate_limits.hits + 1 ELSE 1 END`,
        window_start: sql`excluded.window_start`,
      }),
    )
    .returning(['hits', 'window_start'])
    .executeTakeFirstOrThrow();
  return { hits: row.hits, windowStart: row.window_start };
}

/** The hits in the current window without counting one. */
export async function peekRateLimit(
  db: Kysely<Database>,
  bucket: string,
  windowMs: number,
  now: Date,
): Promise<number> {
  const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs);
  const row = await db
    .selectFrom('ktrlplane.rate_limits')
    .select('hits')
    .where('bucket', '=', bucket)
    .where('window_start', '=', windowStart)
    .executeTakeFirst();
  return row?.hits ?? 0;
}

export async function resetRateLimit(db: Kysely<Database>, bucket: string): Promise<void> {
  await db.deleteFrom('ktrlplane.rate_limits').where('bucket', '=', bucket).execute();
}

export async function deleteStaleRateLimits(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.rate_limits')
    .where('window_start', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
