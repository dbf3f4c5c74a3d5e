import type { ProjectSummary } from '../../db/projects.repository.ts';
import type { DeploymentEvent } from '../../db/resource-deployments.repository.ts';
import type { DeploymentSummary } from '../../services/deployment-status.ts';
import type { ResourceView } from '../../services/resources.ts';
import { DeleteConfirmation } from '../components/delete-confirmation.tsx';
import { Button, Card, type FieldErrors, PageHeader, TextField } from '../components/form.tsx';
import { ResourceTable } from '../components/resource-row.tsx';
import { DeploymentPanel, LiveStatusBadge, LiveUpdates, Timeline } from '../components/resource-status.tsx';
import { Tabs } from '../components/tabs.tsx';

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface ResourceListView {
  project: ProjectSummary;
  organizationName: string;
  resources: ResourceView[];
  canCreate: boolean;
  /**
   * Live badges: each resource's deployment summary and the event id the page was rendered at
   * (the project's event stream resumes after it, so nothing between render and connect is lost).
   */
  live?: { summaries: Record<string, DeploymentSummary>; eventsAfter: number; now: Date };
}

export function ResourceListPage(view: ResourceListView) {
  const base = `/projects/${view.project.project_id}/resources`;
  return (
    <div>
      <PageHeader
        title="Resources"
        actions={
          view.canCreate && (
            <a
              href={`${base}/new`}
              class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
            >
              New resource
            </a>
          )
        }
        eyebrow={
          <a href={`/projects/${view.project.project_id}`} class="hover:underline">
            {view.organizationName} / {view.project.name}
          </a>
        }
      />
      {view.live && (
        <LiveUpdates
          url={`/projects/${view.project.project_id}/events?format=html&after=${view.live.eventsAfter}`}
        />
      )}
      <ResourceTable resources={view.resources} summaries={view.live?.summaries} now={view.live?.now} />
    </div>
  );
}

export interface ResourceDetailView {
  resource: ResourceView;
  projectName: string;
  permissions: string[];
  deleteErrors?: FieldErrors;
  /**
   * The deployment summary and the latest status transitions (newest first); with them the page
   * follows the resource's event stream from the newest one shown.
   */
  live?: { summary: DeploymentSummary; timeline: DeploymentEvent[]; now: Date };
}

export function resourceTabs(
  resource: { project_id: string; resource_id: string },
  current: 'overview' | 'settings' | 'deployment' | 'access' | 'logs' | 'monitoring',
) {
  const base = `/projects/${resource.project_id}/resources/${resource.resource_id}`;
  return (
    <Tabs
      items={[
        { href: base, label: 'Overview', current: current === 'overview' },
        { href: `${base}/settings`, label: 'Settings', current: current === 'settings' },
        { href: `${base}/deployment`, label: 'Deployment', current: current === 'deployment' },
        { href: `${base}/monitoring`, label: 'Monitoring', current: current === 'monitoring' },
        { href: `${base}/access`, label: 'Access', current: current === 'access' },
        { href: `${base}/logs`, label: 'Logs', current: current === 'logs' },
      ]}
    />
  );
}

export function ResourceDetailPage(view: ResourceDetailView) {
  const r = view.resource;
  const live = view.live;
  return (
    <div>
      <PageHeader
        title={r.name}
        eyebrow={
          <a href={`/projects/${r.project_id}/resources`} class="hover:underline">
            {view.projectName} / Resources
          </a>
        }
        subtitle={<code>{r.resource_id}</code>}
      />
      {resourceTabs(r, 'overview')}
      {live && (
        <LiveUpdates
          url={`/projects/${r.project_id}/resources/${r.resource_id}/events?format=html&after=${live.timeline[0]?.event_id ?? 0}`}
        />
      )}
      <div class="grid gap-6 lg:grid-cols-3">
        <Card title="Overview">
          <dl class="grid grid-cols-3 gap-y-2 text-sm">
            <dt class="text-slate-500">Type</dt>
            <dd class="col-span-2">{r.type}</dd>
            <dt class="text-slate-500">SKU</dt>
            <dd class="col-span-2">{r.sku}</dd>
            <dt class="text-slate-500">Status</dt>
            <dd class="col-span-2">
              <LiveStatusBadge
                projectId={r.project_id}
                resourceId={r.resource_id}
                summary={live?.summary ?? null}
                status={r.status}
                now={live?.now}
              />
            </dd>
            {r.error_message && (
              <>
                <dt class="text-slate-500">Error</dt>
                <dd class="col-span-2 text-rose-600">{r.error_message}</dd>
              </>
            )}
            {r.access_url && (
              <>
                <dt class="text-slate-500">Endpoint</dt>
                <dd class="col-span-2 break-all">
                  <a class="text-indigo-600 hover:underline" href={r.access_url}>
                    {r.access_url}
                  </a>
                </dd>
              </>
            )}
            <dt class="text-slate-500">Version</dt>
            <dd class="col-span-2">{r.generation}</dd>
            <dt class="text-slate-500">Updated</dt>
            <dd class="col-span-2">{when(r.updated_at)}</dd>
          </dl>
        </Card>
        {live && (
          <>
            <Card title="Deployment">
              <DeploymentPanel
                projectId={r.project_id}
                resourceId={r.resource_id}
                summary={live.summary}
                now={live.now}
              />
            </Card>
            <Card title="Status history">
              <div class="max-h-80 overflow-auto">
                <Timeline resourceId={r.resource_id} events={live.timeline} />
              </div>
            </Card>
          </>
        )}
        <div class={live ? 'lg:col-span-3' : 'lg:col-span-2'}>
          <Card title="Settings">
            <pre class="max-h-96 overflow-auto rounded bg-slate-50 p-3 text-xs dark:bg-slate-950">
              {JSON.stringify(r.settings_json, null, 2)}
            </pre>
            {r.secrets_set.length > 0 && (
              <p class="mt-2 text-xs text-slate-500">
                Secrets set (not shown):{' '}
                {r.secrets_set.map((pointer) => (
                  <code class="mr-2">{pointer}</code>
                ))}
              </p>
            )}
          </Card>
        </div>
      </div>
      {view.permissions.includes('write') && (
        <div class="mt-6 max-w-xl">
          <Card title="Name">
            <form
              id="rename-resource"
              hx-patch={`/projects/${r.project_id}/resources/${r.resource_id}`}
              hx-target="this"
              hx-swap="outerHTML"
              class="flex items-end gap-3"
            >
              <div class="flex-1">
                <TextField label="Display name" name="name" value={r.name} required maxlength={200} />
              </div>
              <Button>Rename</Button>
            </form>
          </Card>
        </div>
      )}
      {view.permissions.includes('delete') && (
        <div class="mt-6 max-w-xl">{deleteResourceForm(r, view.deleteErrors)}</div>
      )}
    </div>
  );
}

export function deleteResourceForm(resource: ResourceView, errors?: FieldErrors) {
  return (
    <DeleteConfirmation
      action={`/projects/${resource.project_id}/resources/${resource.resource_id}`}
      noun="resource"
      name={resource.name}
      consequences="Removes the resource; the operator tears its workload down at its next poll. Its data is lost unless backed up elsewhere."
      {...(errors ? { errors } : {})}
    />
  );
}
