import type { Resource } from '../db/types.ts';

/**
 * What a resource's deployment looks like to a user, from its row alone: the status and since
 * when, whether the operator has applied the latest settings ("changes pending" while its
 * observed generation lags), whether a transient status has lasted too long ("stuck"), and a tone
 * for the badge. Pure, so pages, JSON and SSE events all say the same thing.
 */

/** Statuses the operator passes through on the way to a steady state. */
export const TRANSIENT_STATUSES = new Set([
  'Creating',
  'Updating',
  'Progressing',
  'Deploying',
  'Pending',
  'Undeploying',
  'Deleting',
]);

export type StatusTone = 'healthy' | 'working' | 'warning' | 'failed' | 'idle';

const tones: Record<string, StatusTone> = {
  Healthy: 'healthy',
  Running: 'healthy',
  Degraded: 'warning',
  Missing: 'warning',
  Unknown: 'warning',
  Error: 'failed',
  Failed: 'failed',
  Undeployed: 'idle',
};

/** The tone of a status: transient ones are 'working', unknown ones a 'warning'. */
export function toneOfStatus(status: string): StatusTone {
  return TRANSIENT_STATUSES.has(status) ? 'working' : (tones[status] ?? 'warning');
}

export interface DeploymentSummary {
  status: string;
  /** ISO time the status last changed. */
  since: string;
  generation: number;
  observed_generation: number | null;
  /** `pending` while the operator has not applied `generation`; `applied` once it has. */
  changes: 'pending' | 'applied';
  deployment_state: Resource['deployment_state'];
  stuck: boolean;
  /**
   * ISO time a transient status becomes "stuck" if nothing changes before then (null when it is
   * not transient or already stuck): pages refresh the badge at that moment.
   */
  stuck_at: string | null;
  tone: StatusTone;
  /** What to do about it, when something is off. */
  guidance: string | null;
}

type Row = Pick<
  Resource,
  'status' | 'status_changed_at' | 'generation' | 'observed_generation' | 'deployment_state' | 'error_message'
>;

export function summarizeDeployment(row: Row, now: Date, stuckAfterSeconds: number): DeploymentSummary {
  const transient = TRANSIENT_STATUSES.has(row.status);
  const stuckAt = row.status_changed_at.getTime() + stuckAfterSeconds * 1000;
  const stuck = transient && now.getTime() > stuckAt;
  const tone = toneOfStatus(row.status);
  return {
    status: row.status,
    since: row.status_changed_at.toISOString(),
    generation: row.generation,
    observed_generation: row.observed_generation,
    changes:
      row.observed_generation !== null && row.observed_generation >= row.generation ? 'applied' : 'pending',
    deployment_state: row.deployment_state,
    stuck,
    stuck_at: transient && !stuck && Number.isFinite(stuckAt) ? new Date(stuckAt).toISOString() : null,
    tone: stuck ? 'warning' : tone,
    guidance: guidanceFor(row, stuck, stuckAfterSeconds),
  };
}

function guidanceFor(row: Row, stuck: boolean, stuckAfterSeconds: number): string | null {
  const limit =
    stuckAfterSeconds < 120
      ? `${stuckAfterSeconds} seconds`
      : `${Math.round(stuckAfterSeconds / 60)} minutes`;
  if (stuck && row.status === 'Deleting')
    return `Deletion has taken more than ${limit}. The operator may be down; the row is removed once it has had time to prune the workload.`;
  if (stuck)
    return `"${row.status}" has lasted more than ${limit}. Check the operator is running and the events of the workload; deploying again re-triggers it.`;
  if (row.status === 'Degraded')
    return 'Some instances are not ready. Check the logs; if it persists, deploy again or lower the load.';
  if (row.status === 'Missing') return 'The operator cannot find the workload. Deploy again to re-create it.';
  if (tones[row.status] === 'failed')
    return row.error_message
      ? `The operator reported: ${row.error_message}`
      : 'The deployment failed; check the settings and deploy again.';
  return null;
}
