import { Hono } from 'hono';
import { pingDatabase } from '../db/health.repository.ts';
import { pendingMigrations } from '../db/migrate.ts';
import { schedulerHeartbeat } from '../jobs/run-job.ts';
import type { AppDeps, AppEnv } from '../lib/app-env.ts';

type Check = { status: 'UP' | 'DOWN' | 'DISABLED'; detail?: string };

/**
 * Process-wide readiness switches: server.ts sets `draining` on SIGTERM, so Kubernetes stops
 * sending traffic while requests in flight finish.
 */
export const readiness = { draining: false };

/** A scheduler that has not started a run for this long is taken for dead (one job runs every minute). */
export const SCHEDULER_STALE_MS = 5 * 60_000;

/**
 * Liveness in the shape existing probes expect: {"status":"UP"} 200, or {"status":"DOWN"} 503.
 * Readiness (GET /ready): the database answers, its migrations are all applied and, where this
 * process runs the jobs, the scheduler is alive; 200 with each check, or 503 naming what is not.
 */
export const healthRoutes = new Hono<AppEnv>()
  .get('/health', async (c) => {
    c.header('Cache-Control', 'no-store');
    const up = await pingDatabase(c.get('deps').db);
    return up ? c.json({ status: 'UP' }, 200) : c.json({ status: 'DOWN' }, 503);
  })
  .get('/ready', async (c) => {
    c.header('Cache-Control', 'no-store');
    const deps = c.get('deps');
    const database: Check = (await pingDatabase(deps.db))
      ? { status: 'UP' }
      : { status: 'DOWN', detail: 'the database does not answer' };
    const checks: Record<string, Check> = {
      database,
      migrations:
        database.status === 'UP' ? await migrationsCheck(deps) : { status: 'DOWN', detail: 'unknown' },
      scheduler: schedulerCheck(deps),
    };
    if (readiness.draining) checks.shutdown = { status: 'DOWN', detail: 'shutting down' };
    const ready = Object.values(checks).every((check) => check.status !== 'DOWN');
    return c.json({ status: ready ? 'UP' : 'DOWN', checks }, ready ? 200 : 503);
  });

async function migrationsCheck(deps: AppDeps): Promise<Check> {
  try {
    const pending = await pendingMigrations(deps.db);
    return pending.length === 0
      ? { status: 'UP' }
      : { status: 'DOWN', detail: `${pending.length} migration(s) not applied; run npm run migrate` };
  } catch {
    return { status: 'DOWN', detail: 'the migration table cannot be read' };
  }
}

function schedulerCheck(deps: AppDeps): Check {
  if (!deps.config.JOBS_ENABLED) return { status: 'DISABLED', detail: 'JOBS_ENABLED=false' };
  // Workers run jobs from Cron Triggers: the platform schedules them, no isolate holds a scheduler.
  if (deps.runtime === 'workers') return { status: 'UP', detail: 'Cron Triggers' };
  const { startedAt, lastRunAt } = schedulerHeartbeat;
  if (!startedAt) return { status: 'DOWN', detail: 'the scheduler has not started' };
  const last = lastRunAt && lastRunAt > startedAt ? lastRunAt : startedAt;
  const idleMs = deps.clock.now().getTime() - last.getTime();
  return idleMs <= SCHEDULER_STALE_MS
    ? { status: 'UP' }
    : { status: 'DOWN', detail: `no job run has started for ${Math.round(idleMs / 1000)} s` };
}
