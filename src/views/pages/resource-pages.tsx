import type { ProjectSummary } from '../../db/projects.repository.ts';
import type { DeploymentEvent } from '../../db/resource-deployments.repository.ts';
import type { DeploymentSummary } from '../../services/deployment-status.ts';
import type { ResourceView } from '../../services/resources.ts';
import { DeleteConfirmation } from '../components/delete-confirmation.tsx';
import { Button, Card, type FieldErrors, PageHeader, TextField } from '../components/form.tsx';
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
  live?: { summaries: Record<string, DeploymentSummary>; eventsAfter: number };
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
      {view.resources.length === 0 ? (
        <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
          No resources in this project yet.
        </p>
      ) : (
        <div class="overflow-hidden rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
          <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
            <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:bg-slate-800/50 dark:text-slate-400">
              <tr>
                <th scope="col" class="px-4 py-2">
                  Name
                </th>
                <th scope="col" class="px-4 py-2">
                  Type
                </th>
                <th scope="col" class="px-4 py-2">
                  SKU
                </th>
                <th scope="col" class="px-4 py-2">
                  Status
                </th>
                <th scope="col" class="px-4 py-2">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
              {view.resources.map((resource) => (
                <tr>
                  <td class="px-4 py-2">
                    <a
                      href={`${base}/${resource.resource_id}`}
                      class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                    >
                      {resource.name}
                    </a>
                    <div class="text-xs text-slate-500">{resource.resource_id}</div>
                  </td>
                  <td class="px-4 py-2">{resource.type}</td>
                  <td class="px-4 py-2">{resource.sku}</td>
                  <td class="px-4 py-2">
                    <LiveStatusBadge
                      resourceId={resource.resource_id}
                      summary={view.live?.summaries[resource.resource_id] ?? null}
                      status={resource.status}
                    />
                  </td>
                  <td class="px-4 py-2 tabular-nums text-slate-500">{when(resource.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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
  live?: { summary: DeploymentSummary; timeline: DeploymentEvent[] };
}

export function resourceTabs(
  resource: { project_id: string; resource_id: string },
  current: 'overview' | 'settings' | 'deployment' | 'access' | 'logs',
) {
  const base = `/projects/${resource.project_id}/resources/${resource.resource_id}`;
  return (
    <Tabs
      items={[
        { href: base, label: 'Overview', current: current === 'overview' },
        { href: `${base}/settings`, label: 'Settings', current: current === 'settings' },
        { href: `${base}/deployment`, label: 'Deployment', current: current === 'deployment' },
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
              <LiveStatusBadge resourceId={r.resource_id} summary={live?.summary ?? null} status={r.status} />
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
              <DeploymentPanel resourceId={r.resource_id} summary={live.summary} />
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
