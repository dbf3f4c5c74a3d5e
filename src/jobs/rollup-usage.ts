import { rollupUsage } from '../services/usage/rollup.ts';
import type { Job } from './job.ts';

/**
 * Keeps the per-minute and per-hour usage aggregates current: runtime usage up to the minute,
 * late history and queued event / API call hours recomputed (src/services/usage/rollup.ts).
 * One transaction under the job lock: a run that dies leaves the previous aggregates and queue.
 */
export const rollupUsageJob: Job = {
  name: 'rollup-usage',
  schedule: '* * * * *',
  description: 'Rolls usage (instance-hours, storage, API calls, reported events) up per minute and hour.',
  async run({ trx, clock, config }) {
    const summary = await rollupUsage(trx, clock.now(), {
      minuteRetentionHours: config.USAGE_MINUTE_RETENTION_HOURS,
    });
    return `aggregated up to ${summary.watermark.toISOString()}: ${summary.runtimeResources} running resources, ${summary.reopenedResources} re-opened by late history, ${summary.dirtyHours} queued hours`;
  },
};
