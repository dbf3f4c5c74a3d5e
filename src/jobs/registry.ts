import { createLogPartitionsJob } from './create-log-partitions.ts';
import { deliverAlertNotificationsJob } from './deliver-alert-notifications.ts';
import { deliverMailJob } from './deliver-mail.ts';
import { enforceLogRetentionJob } from './enforce-log-retention.ts';
import { evaluateAlertsJob } from './evaluate-alerts.ts';
import { finishDeploymentsJob } from './finish-deployments.ts';
import { housekeepingJob } from './housekeeping.ts';
import type { Job } from './job.ts';
import { probeHealthJob } from './probe-health.ts';
import { processStripeEventsJob } from './process-stripe-events.ts';
import { enforceBillingGraceJob, reconcileBillingJob } from './reconcile-billing.ts';
import { reconcileUsageJob } from './reconcile-usage.ts';
import { reportUsageJob } from './report-usage.ts';
import { rollupUsageJob } from './rollup-usage.ts';
import { usageQuotaAlertsJob } from './usage-quota-alerts.ts';

/** Every scheduled job. wrangler.toml's [triggers] crons must list each schedule (a test checks). */
export const jobs: readonly Job[] = [
  housekeepingJob,
  deliverMailJob,
  finishDeploymentsJob,
  probeHealthJob,
  processStripeEventsJob,
  reconcileBillingJob,
  enforceBillingGraceJob,
  rollupUsageJob,
  reportUsageJob,
  reconcileUsageJob,
  usageQuotaAlertsJob,
  createLogPartitionsJob,
  enforceLogRetentionJob,
  evaluateAlertsJob,
  deliverAlertNotificationsJob,
];

export function jobsForCron(cron: string): Job[] {
  return jobs.filter((job) => job.schedule === cron);
}
