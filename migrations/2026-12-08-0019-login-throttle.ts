import { type Kysely, sql } from 'kysely';

/**
 * Sign-in throttling per (account, client address), src/services/login-throttle.ts: one row per
 * pair counts the attempts let through since the last success, and holds the pair back until
 * `blocked_until` once it has used its free attempts, the delay doubling with each further attempt.
 * `admitted` is the decision of the latest upsert, read back through RETURNING: the row lock makes
 * the count and the decision one atomic step, so parallel attempts cannot slip past the limit.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.login_throttle (
      bucket        text PRIMARY KEY,
      attempts      integer NOT NULL,
      blocked_until timestamptz,
      admitted      boolean NOT NULL,
      updated_at    timestamptz NOT NULL
    )`.execute(db);
  // Housekeeping drops pairs that have been quiet for a day.
  await sql`CREATE INDEX login_throttle_updated_at_idx ON ktrlplane.login_throttle (updated_at)`.execute(db);
}
