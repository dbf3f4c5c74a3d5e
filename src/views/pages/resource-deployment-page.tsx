import type { HealthCheck } from '../../db/health-checks.repository.ts';
import type { DeploymentEvent } from '../../db/resource-deployments.repository.ts';
import type { DeploymentSummary } from '../../services/deployment-status.ts';
import type { ResourceView } from '../../services/resources.ts';
import { Button, Card, FormAlert, PageHeader } from '../components/form.tsx';
import { resourceTabs } from './resource-pages.tsx';

export interface DeploymentView {
  resource: ResourceView;
  projectName: string;
  deployment: DeploymentSummary;
  history: DeploymentEvent[];
  health: HealthCheck | null;
  canDeploy: boolean;
  alert?: string;
}

function when(iso: string | Date): string {
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const stateLabels: Record<DeploymentSummary['deployment_state'], string> = {
  deployed: 'Deployed: the operator runs it',
  undeployed: 'Undeployed: the workload is removed, the settings are kept',
  deleting: 'Being deleted',
  suspended: 'Suspended: the account has unpaid invoices; it comes back once they are paid',
};

/**
 * The deployment of a resource: where it stands with the operator (state, status and since,
 * generation applied or pending, stuck or not), its last health probe, the actions (deploy again,
 * undeploy) and the history of status transitions.
 */
export function ResourceDeploymentPage(view: DeploymentView) {
  const r = view.resource;
  const d = view.deployment;
  const actionBase = `/resources/${r.resource_id}`;
  return (
    <div>
      <PageHeader
        title={`${r.name} deployment`}
        eyebrow={
          <a href={`/projects/${r.project_id}/resources`} class="hover:underline">
            {view.projectName} / Resources
          </a>
        }
        subtitle={`${r.type} · ${r.sku}`}
      />
      {resourceTabs(r, 'deployment')}
      <FormAlert message={view.alert} />
      <div class="grid gap-6 lg:grid-cols-2">
        <Card title="Status">
          <dl class="grid grid-cols-3 gap-y-2 text-sm" data-testid="deployment-summary">
            <dt class="text-slate-500">State</dt>
            <dd class="col-span-2">{stateLabels[d.deployment_state]}</dd>
            <dt class="text-slate-500">Status</dt>
            <dd class="col-span-2">
              <span class="font-medium" data-testid="deployment-status">
                {d.status}
              </span>{' '}
              <span class="text-slate-500">since {when(d.since)}</span>
              {d.stuck && (
                <span class="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-800 dark:bg-amber-900/40 dark:text-amber-300">
                  stuck
                </span>
              )}
            </dd>
            <dt class="text-slate-500">Settings</dt>
            <dd class="col-span-2" data-testid="deployment-changes">
              {d.changes === 'applied'
                ? `applied (version ${d.generation})`
                : `changes pending: version ${d.generation}, the operator has applied ${d.observed_generation ?? 'none yet'}`}
            </dd>
            <dt class="text-slate-500">Health probe</dt>
            <dd class="col-span-2">
              {view.health
                ? `${view.health.ok ? 'healthy' : `failing: ${view.health.error ?? view.health.status_code}`} (${view.health.latency_ms} ms, ${when(view.health.checked_at)})`
                : r.access_url
                  ? 'not probed yet'
                  : 'no access URL yet'}
            </dd>
          </dl>
          {d.guidance && (
            <p
              role="status"
              class="mt-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800 dark:bg-amber-950 dark:text-amber-200"
            >
              {d.guidance}
            </p>
          )}
          {view.canDeploy && d.deployment_state !== 'deleting' && (
            <div class="mt-5 flex gap-3">
              <form method="post" action={`${actionBase}/deploy`}>
                <Button>{d.deployment_state === 'undeployed' ? 'Deploy' : 'Deploy again'}</Button>
              </form>
              {d.deployment_state === 'deployed' && (
                <form method="post" action={`${actionBase}/undeploy`}>
                  <Button variant="secondary">Undeploy</Button>
                </form>
              )}
            </div>
          )}
        </Card>
        <Card title="History">
          {view.history.length === 0 ? (
            <p class="text-sm text-slate-600 dark:text-slate-300">No status changes yet.</p>
          ) : (
            <ol class="space-y-2 text-sm" data-testid="deployment-history">
              {view.history.map((event) => (
                <li class="flex flex-wrap gap-x-3" data-event-id={String(event.event_id)}>
                  <span class="tabular-nums text-slate-500">{when(event.at)}</span>
                  <span class="font-medium">{event.status}</span>
                  <span class="text-slate-500">
                    version {event.generation}
                    {event.observed_generation !== null && `, applied ${event.observed_generation}`}
                  </span>
                  {event.message && <span class="basis-full text-rose-600">{event.message}</span>}
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
    </div>
  );
}
