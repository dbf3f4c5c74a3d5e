import { finishDeletionsBefore, finishUndeploysBefore } from '../db/resources.repository.ts';
import type { Job } from './job.ts';

/**
 * Finishes what db-query-operator does not report: an undeployed or deleted resource leaves the
 * operator's query and its workload is pruned at the operator's next reconcile, but no status is
 * written for a row that is no longer in the result set. Once OPERATOR_GRACE_SECONDS have passed
 * (at least one poll interval of the operator), undeploys become `Undeployed` and deleted rows
 * are removed (the history trigger records `Deleted`). Idempotent: it only moves rows forward.
 */
export const finishDeploymentsJob: Job = {
  name: 'finish-deployments',
  schedule: '* * * * *',
  description:
    'Marks undeployed resources Undeployed and removes deleted ones once the operator has had OPERATOR_GRACE_SECONDS to prune their workloads.',
  async run({ trx, clock, config }) {
    const before = new Date(clock.now().getTime() - config.OPERATOR_GRACE_SECONDS * 1000);
    const undeployed = await finishUndeploysBefore(trx, before);
    const deleted = await finishDeletionsBefore(trx, before);
    return `${undeployed} undeployed, ${deleted.length} deleted`;
  },
};
