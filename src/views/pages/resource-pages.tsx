import type { ProjectSummary } from '../../db/projects.repository.ts';
import type { ResourceView } from '../../services/resources.ts';
import { DeleteConfirmation } from '../components/delete-confirmation.tsx';
import { Button, Card, type FieldErrors, PageHeader, TextField } from '../components/form.tsx';
import { Tabs } from '../components/tabs.tsx';

const statusTone: Record<string, string> = {
  Healthy: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300',
  Running: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300',
  Creating: 'bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300',
  Updating: 'bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300',
  Pending: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
  Degraded: 'bg-amber-100 text-amber-800 dark:bg-amber-900/40 dark:text-amber-300',
  Error: 'bg-rose-100 text-rose-800 dark:bg-rose-900/40 dark:text-rose-300',
  Failed: 'bg-rose-100 text-rose-800 dark:bg-rose-900/40 dark:text-rose-300',
};

export function StatusBadge(props: { status: string }) {
  return (
    <span
      class={`inline-flex rounded-full px-2 py-0.5 text-xs font-medium ${statusTone[props.status] ?? statusTone.Pending}`}
    >
      {props.status}
    </span>
  );
}

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export interface ResourceListView {
  project: ProjectSummary;
  organizationName: string;
  resources: ResourceView[];
  canCreate: boolean;
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
                    <StatusBadge status={resource.status} />
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
}

export function resourceTabs(
  resource: { project_id: string; resource_id: string },
  current: 'overview' | 'settings' | 'deployment' | 'access',
) {
  const base = `/projects/${resource.project_id}/resources/${resource.resource_id}`;
  return (
    <Tabs
      items={[
        { href: base, label: 'Overview', current: current === 'overview' },
        { href: `${base}/settings`, label: 'Settings', current: current === 'settings' },
        { href: `${base}/deployment`, label: 'Deployment', current: current === 'deployment' },
        { href: `${base}/access`, label: 'Access', current: current === 'access' },
      ]}
    />
  );
}

export function ResourceDetailPage(view: ResourceDetailView) {
  const r = view.resource;
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
      <div class="grid gap-6 lg:grid-cols-3">
        <Card title="Overview">
          <dl class="grid grid-cols-3 gap-y-2 text-sm">
            <dt class="text-slate-500">Type</dt>
            <dd class="col-span-2">{r.type}</dd>
            <dt class="text-slate-500">SKU</dt>
            <dd class="col-span-2">{r.sku}</dd>
            <dt class="text-slate-500">Status</dt>
            <dd class="col-span-2">
              <StatusBadge status={r.status} />
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
        <div class="lg:col-span-2">
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
