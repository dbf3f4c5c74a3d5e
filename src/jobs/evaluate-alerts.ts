import { applyMeasurements, type Measurement, measureRules } from '../services/alerts/evaluate.ts';
import type { Job } from './job.ts';

/**
 * Evaluates every enabled alert rule every 30 seconds (Node: croner with seconds; Workers: the
 * minute Cron Trigger runs it at :00 and :30, see Job.intervalSeconds). Values are measured in
 * `gather`, outside the transaction (PromQL is a network call); state changes, history and queued
 * notifications commit together under the job's lock.
 */
export const evaluateAlertsJob: Job = {
  name: 'evaluate-alerts',
  schedule: '* * * * *',
  intervalSeconds: 30,
  description:
    'Evaluates alert rules (pending → firing → resolved), records history and queues notifications.',
  gather: ({ db, config, clock, log }) => measureRules(db, config, clock.now(), log),
  async run({ trx, config, clock, gathered }) {
    const measurements = (gathered ?? []) as Measurement[];
    const { evaluated, firing, resolved } = await applyMeasurements(trx, measurements, config, clock.now());
    return `evaluated ${evaluated} rules, ${firing} started firing, ${resolved} resolved`;
  },
};
