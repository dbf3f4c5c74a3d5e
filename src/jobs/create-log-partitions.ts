import { createLogPartitionsAhead } from '../services/logs/partitions.ts';
import type { Job } from './job.ts';

export const createLogPartitionsJob: Job = {
  name: 'create-log-partitions',
  schedule: '17 * * * *',
  description:
    "Creates today's and the next two days' log partitions of every retention class, so ingest rarely has to make one (it still does, on demand, for a day nobody made).",
  async run({ trx, clock }) {
    const created = await createLogPartitionsAhead(trx, clock.now());
    return created.length === 0 ? 'every log partition ahead exists' : `created ${created.join(', ')}`;
  },
};
