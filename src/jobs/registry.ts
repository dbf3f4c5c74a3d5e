import { deliverAlertNotificationsJob } from './deliver-alert-notifications.ts';
import { deliverMailJob } from './deliver-mail.ts';
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

/** Every scheduled job. wrangler.toml's [triggers] crons must list each schedule (a test checks). */
export const jobs: readonly Job[] = [
  housekeepingJob,
  deliverMailJob,
  finishDeploymentsJob,
  probeHealthJob,
  processStripeEventsJob,
  reconcileBillingJob,
  enforceBillingGraceJob,
  evaluateAlertsJob,
  deliverAlertNotificationsJob,
  rollupUsageJob,
  reportUsageJob,
  reconcileUsageJob,
];

export function jobsForCron(cron: string): Job[] {
  return jobs.filter((job) => job.schedule === cron);
}
