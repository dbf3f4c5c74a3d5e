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

/**
 * Takes back one hit counted by `hitRateLimit` in the window it was counted in (a sign-in that
 * succeeded is no guess); nothing when that window has passed. Never below zero.
 */
export async function releaseRateLimitHit(
  db: Kysely<Database>,
  bucket: string,
  windowStart: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.rate_limits')
    .set({ hits: sql`GREATEST(hits - 1, 0)` })
    .where('bucket', '=', bucket)
    .where('window_start', '=', windowStart)
    .execute();
}

export async function deleteStaleRateLimits(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.rate_limits')
    .where('window_start', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
