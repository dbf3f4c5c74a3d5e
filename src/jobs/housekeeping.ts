import { deleteAlertHistoryBefore } from '../db/alerts.repository.ts';
import { deleteHealthChecksBefore } from '../db/health-checks.repository.ts';
import { deleteIdempotencyKeysBefore } from '../db/idempotency-keys.repository.ts';
import { deleteJobRunsBefore } from '../db/job-runs.repository.ts';
import { deleteQuietPairs } from '../db/login-throttle.repository.ts';
import { deleteStaleRateLimits } from '../db/rate-limits.repository.ts';
import { deleteExpiredDrafts } from '../db/resource-drafts.repository.ts';
import { deleteExpiredRoleAssignments } from '../db/role-assignments.repository.ts';
import { deleteExpiredSessions } from '../db/sessions.repository.ts';
import type { Job } from './job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Expired assignments grant nothing already; they are kept a while so access pages can show them. */
const EXPIRED_ASSIGNMENT_RETENTION_DAYS = 30;
const JOB_RUN_RETENTION_DAYS = 30;
const HEALTH_CHECK_RETENTION_DAYS = 7;
/** Alert history, delivery logs and ended silences. */
const ALERT_HISTORY_RETENTION_DAYS = 90;

export const housekeepingJob: Job = {
  name: 'housekeeping',
  schedule: '17 * * * *',
  description:
    'Deletes role assignments expired for 30 days, job-run records older than 30 days, expired sessions, stale rate-limit windows and sign-in throttle pairs, idempotency keys older than a day, expired resource drafts, health checks older than a week, and alert history, delivery logs and silences older than 90 days.',
  async run({ trx, clock }) {
    const now = clock.now();
    const assignments = await deleteExpiredRoleAssignments(
      trx,
      new Date(now.getTime() - EXPIRED_ASSIGNMENT_RETENTION_DAYS * DAY_MS),
    );
    const runs = await deleteJobRunsBefore(trx, new Date(now.getTime() - JOB_RUN_RETENTION_DAYS * DAY_MS));
    const sessions = await deleteExpiredSessions(trx, now);
    const windows = await deleteStaleRateLimits(trx, new Date(now.getTime() - DAY_MS));
    // A sign-in pair quiet for a day starts over anyway (login-throttle.ts PAIR.memoryMs).
    const pairs = await deleteQuietPairs(trx, new Date(now.getTime() - DAY_MS));
    // A retry comes within minutes; a day keeps every realistic one answerable.
    const keys = await deleteIdempotencyKeysBefore(trx, new Date(now.getTime() - DAY_MS));
    const drafts = await deleteExpiredDrafts(trx, now);
    const checks = await deleteHealthChecksBefore(
      trx,
      new Date(now.getTime() - HEALTH_CHECK_RETENTION_DAYS * DAY_MS),
    );
    const alertEvents = await deleteAlertHistoryBefore(
      trx,
      new Date(now.getTime() - ALERT_HISTORY_RETENTION_DAYS * DAY_MS),
    );
    return `deleted ${assignments} expired role assignments and ${runs} old job runs, ${sessions} expired sessions, ${windows} rate-limit windows, ${pairs} sign-in throttle pairs, ${keys} idempotency keys, ${drafts} resource drafts ${checks} health checks and ${alertEvents} alert events`;
  },
};
