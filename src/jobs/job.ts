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
}

/**
 * A scheduled job. Every job is idempotent and safe to run twice at once: the runner takes a
 * transaction-scoped advisory lock per job name, and a second concurrent run is recorded as skipped.
 */
export interface Job {
  name: string;
  /** Cron expression (UTC); the same string is a Cron Trigger in wrangler.toml. */
  schedule: string;
  description: string;
  run(ctx: JobContext): Promise<string>;
}
