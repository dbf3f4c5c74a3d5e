import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, JobRun, JobRunsTable } from './types.ts';

export async function recordJobRun(
  db: Kysely<Database>,
  run: Pick<JobRunsTable, 'job' | 'trigger' | 'outcome' | 'detail' | 'started_at' | 'finished_at'>,
): Promise<void> {
  await db.insertInto('ktrlplane.job_runs').values(run).execute();
}

export async function listJobRuns(db: Kysely<Database>, job: string, limit = 20): Promise<JobRun[]> {
  return db
    .selectFrom('ktrlplane.job_runs')
    .selectAll()
    .where('job', '=', job)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
}

export async function deleteJobRunsBefore(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.job_runs')
    .where('started_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Takes the job's lock for the rest of the transaction, or answers false when another run holds
 * it. Accepts only a transaction: the lock is released by its commit or rollback.
 */
export async function tryJobLock(trx: Transaction<Database>, job: string): Promise<boolean> {
  const result = await sql<{
    locked: boolean;
  }>`SELECT pg_try_advisory_xact_lock(hashtext(${`ktrlplane.job.${job}`})) AS locked`.execute(trx);
  return result.rows[0]?.locked === true;
}
