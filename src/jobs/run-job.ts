import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { recordJobRun, tryJobLock } from '../db/job-runs.repository.ts';
import type { Database } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import type { Logger } from '../lib/logger.ts';
import { recordJobRun as countJobRun } from '../lib/metrics.ts';
import { recordError, traceLogFields, tracer } from '../lib/tracing.ts';
import type { Job } from './job.ts';

/** What running a job needs; the same on Node (scheduler) and Workers (Cron Triggers). */
export interface JobDeps {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  config: Config;
}

export interface JobOutcome {
  job: string;
  outcome: 'succeeded' | 'failed' | 'skipped';
  detail: string;
}

/**
 * The in-process scheduler's heartbeat (Node): server.ts marks its start, every run marks itself.
 * GET /ready reads it to tell a live scheduler from a dead one.
 */
export const schedulerHeartbeat: { startedAt: Date | null; lastRunAt: Date | null } = {
  startedAt: null,
  lastRunAt: null,
};

export function markSchedulerStarted(at: Date): void {
  schedulerHeartbeat.startedAt = at;
}

/**
 * Runs one job inside a transaction that holds the job's advisory lock; a run that finds the lock
 * taken is skipped. Every run, whatever its outcome, is recorded in ktrlplane.job_runs, counted in
 * job_runs_total / job_duration_seconds and traced as a root span of its own (its queries are
 * child spans). Never throws: a failing job is logged and recorded, and the scheduler goes on.
 */
export async function runJob(deps: JobDeps, job: Job, trigger: string): Promise<JobOutcome> {
  return tracer().startActiveSpan(
    `job ${job.name}`,
    { root: true, attributes: { 'job.name': job.name, 'job.trigger': trigger } },
    async (span) => {
      const runId = crypto.randomUUID();
      span.setAttribute('job.run_id', runId);
      const log = deps.logger.child({ job: job.name, job_run_id: runId, ...traceLogFields() });
      const startedAt = deps.clock.now();
      schedulerHeartbeat.lastRunAt = startedAt;
      const started = performance.now();
      let outcome: JobOutcome['outcome'];
      let detail: string;
      try {
        const base = { db: deps.db, clock: deps.clock, log, config: deps.config };
        const gathered = job.gather ? await job.gather(base) : undefined;
        const result = await deps.db.transaction().execute(async (trx) => {
          if (!(await tryJobLock(trx, job.name))) return null;
          return job.run({ ...base, trx, gathered });
        });
        outcome = result === null ? 'skipped' : 'succeeded';
        detail = result ?? 'another run holds the lock';
      } catch (error) {
        outcome = 'failed';
        detail = error instanceof Error ? error.message : String(error);
        log.error('job failed', { err: error });
        recordError(span, error);
      }
      const finishedAt = deps.clock.now();
      span.setAttribute('job.outcome', outcome);
      countJobRun(job.name, outcome, (performance.now() - started) / 1000);
      log.info('job run', {
        outcome,
        detail,
        duration_ms: finishedAt.getTime() - startedAt.getTime(),
        trigger,
      });
      try {
        await recordJobRun(deps.db, {
          job: job.name,
          trigger,
          outcome,
          detail,
          started_at: startedAt,
          finished_at: finishedAt,
        });
      } catch (error) {
        log.error('could not record job run', { err: error });
      } finally {
        span.end();
      }
      return { job: job.name, outcome, detail };
    },
  );
}
