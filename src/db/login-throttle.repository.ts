import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from './types.ts';

/** How a pair's attempts are held back: `free` attempts, then a delay doubling from `baseMs` to `capMs`. */
export interface PairPolicy {
  free: number;
  baseMs: number;
  capMs: number;
  /** A pair quiet for this long starts over. */
  memoryMs: number;
}

export interface PairAttempt {
  admitted: boolean;
  /** Attempts let through since the last success, this one included when admitted. */
  attempts: number;
  blockedUntil: Date | null;
}

/**
 * Records an attempt of a pair and decides it in one upsert (record, then decide): the row lock
 * serializes concurrent attempts, so exactly `free` of any number of parallel ones get through.
 * An attempt while the pair is held back is refused and changes nothing; an admitted one that
 * reaches the free limit holds the pair back for `baseMs · 2^(attempts − free)`, at most `capMs`.
 * In ON CONFLICT DO UPDATE every expression reads the row as it was, so the decision, the count
 * and the new delay all come from the same old state.
 */
export async function recordPairAttempt(
  db: Kysely<Database>,
  bucket: string,
  policy: PairPolicy,
  now: Date,
): Promise<PairAttempt> {
  const staleBefore = new Date(now.getTime() - policy.memoryMs);
  const old = sql.table('ktrlplane.login_throttle');
  const fresh = sql`${old}.updated_at < ${staleBefore}`;
  const open = sql<boolean>`(${fresh} OR ${old}.blocked_until IS NULL OR ${old}.blocked_until <= ${now})`;
  const next = sql<number>`(CASE WHEN ${fresh} THEN 1 ELSE ${old}.attempts + 1 END)`;
  const holdUntil = (attempts: RawBuilder<number>) =>
    sql`CASE WHEN ${attempts} >= ${policy.free}
          THEN ${now}::timestamptz + LEAST(${policy.capMs}::float8, ${policy.baseMs}::float8 * power(2, ${attempts} - ${policy.free})) * interval '1 millisecond'
          ELSE NULL END`;
  const row = await db
    .insertInto('ktrlplane.login_throttle')
    .values({
      bucket,
      attempts: 1,
      blocked_until: 1 >= policy.free ? new Date(now.getTime() + policy.baseMs) : null,
      admitted: true,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('bucket').doUpdateSet({
        attempts: sql`CASE WHEN ${open} THEN ${next} ELSE ${old}.attempts END`,
        blocked_until: sql`CASE WHEN ${open} THEN ${holdUntil(next)} ELSE ${old}.blocked_until END`,
        admitted: open,
        updated_at: now,
      }),
    )
    .returning(['admitted', 'attempts', 'blocked_until'])
    .executeTakeFirstOrThrow();
  return { admitted: row.admitted, attempts: row.attempts, blockedUntil: row.blocked_until };
}

/** Forgets a pair (its owner signed in). */
export async function clearPair(db: Kysely<Database>, bucket: string): Promise<void> {
  await db.deleteFrom('ktrlplane.login_throttle').where('bucket', '=', bucket).execute();
}

/** Housekeeping: pairs with no attempt since `before`, which would start over anyway. */
export async function deleteQuietPairs(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.login_throttle')
    .where('updated_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
