import type { Kysely } from 'kysely';
import { getResource, setDeploymentState } from '../db/resources.repository.ts';
import { withTransaction } from '../db/transaction.ts';
import type { Database, Resource } from '../db/types.ts';
import { AppError, conflict } from '../lib/errors.ts';
import { recordResourceDeployment } from '../lib/metrics.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { TRANSIENT_STATUSES } from './deployment-status.ts';
import type { AuthorizedScope } from './rbac.ts';

/**
 * Deploying, undeploying and deleting: ktrlplane never talks to Kubernetes, it moves the row in or
 * out of db-query-operator's query (deploy/operator) and the operator does the rest. Each change
 * bumps `updated_at` so the operator's change detection reconciles at once. The row is locked for
 * the check and the change, so two concurrent operations cannot both pass the conflict checks.
 *
 * - deploy: back into the query (after an undeploy) or again (a kick). The generation is bumped so
 *   the workload's `ktrlplane.io/generation` annotation changes and the operator writes its status
 *   and observed generation back — the user sees "changes pending" turn "applied".
 * - undeploy: out of the query; the operator prunes the workload, the settings stay. It shows
 *   `Undeploying` until OPERATOR_GRACE_SECONDS have passed (the deployment job then marks it
 *   `Undeployed`), because the operator reports nothing for a row that left its query.
 * - delete: out of the query as `Deleting`; the job removes the row after the grace period (at
 *   once when nothing is deployed).
 */

export const STATUS_DEPLOYING = 'Deploying';
export const STATUS_UNDEPLOYING = 'Undeploying';
export const STATUS_UNDEPLOYED = 'Undeployed';
export const STATUS_DELETING = 'Deleting';

async function lockedResource(db: Kysely<Database>, scope: AuthorizedScope<'resource'>): Promise<Resource> {
  await db
    .selectFrom('ktrlplane.resources')
    .select('resource_id')
    .where('resource_id', '=', scope.id)
    .forUpdate()
    .execute();
  return getResource(db, scope);
}

function since(row: Resource): string {
  return row.status_changed_at.toISOString();
}

/** 409 when the resource is being deleted: nothing else may happen to it any more. */
export function refuseWhileDeleting(row: Resource): void {
  if (row.deployment_state === 'deleting') {
    throw conflict(`"${row.name}" is being deleted (since ${since(row)}); nothing can change it any more.`);
  }
}

export async function deployResource(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  actor: AuditActor,
  now: Date,
  stuckAfterSeconds: number,
): Promise<Resource> {
  const row = await withTransaction(db, async (trx) => {
    const current = await lockedResource(trx, scope);
    refuseWhileDeleting(current);
    if (current.deployment_state === 'suspended') {
      throw new AppError(
        402,
        'Payment Required',
        `"${current.name}" is suspended because the account has unpaid invoices; pay them on the billing page and it comes back by itself.`,
      );
    }
    const inProgress =
      current.deployment_state === 'deployed' &&
      TRANSIENT_STATUSES.has(current.status) &&
      now.getTime() - current.status_changed_at.getTime() <= stuckAfterSeconds * 1000;
    if (inProgress) {
      throw conflict(
        `A deployment is in progress ("${current.status}" since ${since(current)}). Wait for it to finish, or deploy again once it is flagged stuck.`,
      );
    }
    const updated = await setDeploymentState(
      trx,
      scope,
      { state: 'deployed', status: STATUS_DEPLOYING, bumpGeneration: true },
      now,
    );
    await recordAudit(
      trx,
      actor,
      {
        action: 'resource.deployed',
        targetType: 'resource',
        targetId: scope.id,
        orgId: scope.orgId,
        before: { deployment_state: current.deployment_state, status: current.status },
        after: { deployment_state: 'deployed', generation: updated.generation },
      },
      now,
    );
    return updated;
  });
  recordResourceDeployment(row.type, row.status);
  return row;
}

export async function undeployResource(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  actor: AuditActor,
  now: Date,
): Promise<Resource> {
  const row = await withTransaction(db, async (trx) => {
    const current = await lockedResource(trx, scope);
    refuseWhileDeleting(current);
    if (current.deployment_state === 'undeployed') {
      throw conflict(
        `"${current.name}" is already undeployed ("${current.status}" since ${since(current)}); deploy it to bring it back.`,
      );
    }
    const updated = await setDeploymentState(
      trx,
      scope,
      { state: 'undeployed', status: STATUS_UNDEPLOYING, bumpGeneration: false },
      now,
    );
    await recordAudit(
      trx,
      actor,
      {
        action: 'resource.undeployed',
        targetType: 'resource',
        targetId: scope.id,
        orgId: scope.orgId,
        before: { deployment_state: current.deployment_state, status: current.status },
      },
      now,
    );
    return updated;
  });
  recordResourceDeployment(row.type, row.status);
  return row;
}

/**
 * Takes the resource out of the operator's query as `Deleting` (the caller has checked the typed
 * confirmation). Answers whether the row is already gone: a resource with nothing deployed (fully
 * undeployed) has nothing to prune and is deleted at once.
 */
export async function requestDeletion(
  trx: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  current: Resource,
  now: Date,
): Promise<Resource | null> {
  refuseWhileDeleting(current);
  if (current.deployment_state === 'undeployed' && current.status === STATUS_UNDEPLOYED) {
    await trx.deleteFrom('ktrlplane.resources').where('resource_id', '=', scope.id).execute();
    return null;
  }
  return setDeploymentState(
    trx,
    scope,
    { state: 'deleting', status: STATUS_DELETING, bumpGeneration: false },
    now,
  );
}
