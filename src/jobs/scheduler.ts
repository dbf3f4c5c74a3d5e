import { Cron } from 'croner';
import type { Job } from './job.ts';
import { type JobDeps, type JobOutcome, runJob } from './run-job.ts';

export interface Scheduler {
  stop(): Promise<void>;
}

/**
 * The in-process scheduler for Node: the same jobs and cron expressions Workers runs from Cron
 * Triggers. Several instances may run it at once; the job lock makes overlapping runs skip.
 * `stop` waits for runs in flight, so a graceful shutdown does not cut a job in half.
 */
export function startScheduler(deps: JobDeps, jobs: readonly Job[]): Scheduler {
  const inFlight = new Set<Promise<JobOutcome>>();
  const crons = jobs.map(
    (job) =>
      new Cron(cronFor(job), { timezone: 'UTC', protect: true }, () => {
        const run = runJob(deps, job, `cron:${job.schedule}`);
        inFlight.add(run);
        void run.finally(() => inFlight.delete(run));
      }),
  );
  deps.logger.info('scheduler started', { jobs: jobs.map((job) => `${job.name} (${cronFor(job)})`) });
  return {
    async stop() {
      for (const cron of crons) cron.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** The job's cron on Node: with a seconds field when it runs more often than once a minute. */
export function cronFor(job: Job): string {
  return job.intervalSeconds ? `*/${job.intervalSeconds} * * * * *` : job.schedule;
}
