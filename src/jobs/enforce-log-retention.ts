import { dropExpiredLogPartitions } from '../services/logs/partitions.ts';
import type { Job } from './job.ts';

export const enforceLogRetentionJob: Job = {
  name: 'enforce-log-retention',
  schedule: '17 * * * *',
  description:
    'Drops each day partition of log lines once the whole day is older than the retention its lines were stored under (the plan of their project: free 3 days, standard 30, premium 90).',
  async run({ trx, clock }) {
    const dropped = await dropExpiredLogPartitions(trx, clock.now());
    return dropped.length === 0 ? 'no log partition has expired' : `dropped ${dropped.join(', ')}`;
  },
};
