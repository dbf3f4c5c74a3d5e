import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../config.ts';
import type { Database } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';

export interface JobContext {
  /** The job's transaction: it holds the job's advisory lock, so its work commits or rolls back whole. */
  trx: Transaction<Database>;
  db: Kysely<Database>;
  clock: Clock;
  log: Logger;
  /** Settings a job may need (mail transport, Stripe, …). */
  config: Config;
  /** What the job's `gather` step returned, when it has one. */
  gathered?: unknown;
}

/** What a job's `gather` step gets: no transaction, no lock. */
export type GatherContext = Omit<JobContext, 'trx' | 'gathered'>;

/**
 * A scheduled job. Every job is idempotent and safe to run twice at once: the runner takes a
 * transaction-scoped advisory lock per job name, and a second concurrent run is recorded as skipped.
 */
export interface Job {
  name: string;
  /** Cron expression (UTC); the same string is a Cron Trigger in wrangler.toml. */
  schedule: string;
  /**
   * Run more often than once a minute: every this many seconds (a divisor of 60). The Node
   * scheduler does so with a seconds field (croner); Workers Cron Triggers fire at most once a
   * minute, so the Workers entry runs the job at the minute's trigger and again every
   * `intervalSeconds` within that minute (worker-runtime.ts). `schedule` stays the minute cron.
   */
  intervalSeconds?: number;
  description: string;
  run(ctx: JobContext): Promise<string>;
  /**
   * Slow outside work (network calls) done BEFORE the job's transaction opens, so it never holds a
   * database connection — on PGlite the only one — while it waits. Its result reaches `run` as
   * `ctx.gathered`. It may run in two overlapping runs; only one of them then gets to `run`.
   */
  gather?(ctx: GatherContext): Promise<unknown>;
}
