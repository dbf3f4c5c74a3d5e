import type { ProjectSummary } from '../../db/projects.repository.ts';
import type { Resource } from '../../db/types.ts';
import { DeleteConfirmation } from '../components/delete-confirmation.tsx';
import { Button, Card, type FieldErrors, PageHeader, TextField } from '../components/form.tsx';
import { LIST_TABLE_HEAD, TableHeader } from '../components/table-header.tsx';
import { Tabs } from '../components/tabs.tsx';
import { IngestTokensSection, type IngestTokensSectionView } from './ingest-tokens.tsx';

function StatusSummary(props: { summary: Record<string, number> }) {
  const entries = Object.entries(props.summary);
  if (entries.length === 0) return <span class="text-slate-400">—</span>;
  return (
    <span class="flex flex-wrap gap-1">
      {entries.map(([status, count]) => (
        <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700 dark:bg-slate-800 dark:text-slate-300">
          {status}: {count}
        </span>
      ))}
    </span>
  );
}

export function ProjectTable(props: {
  projects: Array<ProjectSummary & { org_name?: string }>;
  empty: string;
  showOrganization?: boolean;
}) {
  if (props.projects.length === 0) {
    return (
      <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
        {props.empty}
      </p>
    );
  }
  return (
    <div class="overflow-hidden rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
        <TableHeader
          class={LIST_TABLE_HEAD}
          cellClass="px-4 py-2"
          columns={['Project', props.showOrganization && 'Organization', 'Resources', 'Status']}
        />
        <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
          {props.projects.map((project) => (
            <tr>
              <td class="px-4 py-2">
                <a
                  href={`/projects/${project.project_id}`}
                  class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
                >
                  {project.name}
                </a>
                <div class="text-xs text-slate-500">{project.project_id}</div>
              </td>
              {props.showOrganization && <td class="px-4 py-2">{project.org_name}</td>}
              <td class="px-4 py-2 tabular-nums">{project.resource_count}</td>
              <td class="px-4 py-2">
                <StatusSummary summary={project.status_summary} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ProjectsPage(view: { projects: Array<ProjectSummary & { org_name: string }> }) {
  return (
    <div>
      <PageHeader title="Projects" subtitle="Every project you can see, across your organizations." />
      <ProjectTable
        projects={view.projects}
        showOrganization
        empty="No projects yet. Open an organization to create one."
      />
    </div>
  );
}

export function projectTabs(
  projectId: string,
  current: 'overview' | 'access' | 'billing' | 'settings' | 'logs' | 'monitoring' | 'alerts',
  permissions: readonly string[],
) {
  const items = [
    { href: `/projects/${projectId}`, label: 'Overview', current: current === 'overview' },
    { href: `/projects/${projectId}/monitoring`, label: 'Monitoring', current: current === 'monitoring' },
    { href: `/projects/${projectId}/alerts`, label: 'Alerts', current: current === 'alerts' },
    { href: `/projects/${projectId}/access`, label: 'Access', current: current === 'access' },
    { href: `/projects/${projectId}/billing`, label: 'Billing', current: current === 'billing' },
    { href: `/projects/${projectId}/logs`, label: 'Logs', current: current === 'logs' },
  ];
  if (permissions.includes('write'))
    items.push({
      href: `/projects/${projectId}/settings`,
      label: 'Settings',
      current: current === 'settings',
    });
  return <Tabs items={items} />;
}

export interface ProjectView {
  project: ProjectSummary;
  organizationName: string;
  resources: Resource[];
  permissions: string[];
}

function ProjectHeader(props: { project: ProjectSummary; organizationName: string }) {
  return (
    <PageHeader
      title={props.project.name}
      eyebrow={
        <a href={`/organizations/${props.project.org_id}`} class="hover:underline">
          {props.organizationName}
        </a>
      }
      subtitle={props.project.description || <code>{props.project.project_id}</code>}
    />
  );
}

export function ProjectPage(view: ProjectView) {
  return (
    <div>
      <ProjectHeader project={view.project} organizationName={view.organizationName} />
      {projectTabs(view.project.project_id, 'overview', view.permissions)}
      <Card title="Resources">
        {view.resources.length === 0 ? (
          <p class="text-sm text-slate-600 dark:text-slate-300">This project has no resources yet.</p>
        ) : (
          <table class="min-w-full text-sm">
            <TableHeader
              class="text-left text-xs uppercase tracking-wide text-slate-500"
              cellClass="py-2"
              columns={['Name', 'Type', 'SKU', 'Status']}
            />
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
              {view.resources.map((resource) => (
                <tr>
                  <td class="py-2 font-medium">{resource.name}</td>
                  <td class="py-2">{resource.type}</td>
                  <td class="py-2">{resource.sku}</td>
                  <td class="py-2">{resource.status}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

export interface ProjectSettingsView {
  project: ProjectSummary;
  organizationName: string;
  permissions: string[];
  ingestTokens: IngestTokensSectionView;
  editErrors?: FieldErrors;
  deleteErrors?: FieldErrors;
  saved?: boolean;
}

export function EditProjectForm(props: {
  project: ProjectSummary;
  errors?: FieldErrors | undefined;
  saved?: boolean | undefined;
}) {
  return (
    <form
      id="edit-project"
      hx-patch={`/projects/${props.project.project_id}`}
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <TextField
        label="Name"
        name="name"
        value={props.project.name}
        errors={props.errors}
        required
        maxlength={200}
      />
      <TextField
        label="Description"
        name="description"
        value={props.project.description}
        errors={props.errors}
        maxlength={2000}
      />
      <div class="flex items-center gap-3">
        <Button>Save</Button>
        {props.saved && (
          <span class="text-sm text-emerald-600 dark:text-emerald-400" role="status">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}

export function ProjectSettingsPage(view: ProjectSettingsView) {
  return (
    <div>
      <ProjectHeader project={view.project} organizationName={view.organizationName} />
      {projectTabs(view.project.project_id, 'settings', view.permissions)}
      <div class="max-w-xl space-y-6">
        <Card title="General">
          <EditProjectForm project={view.project} errors={view.editErrors} saved={view.saved} />
        </Card>
        <IngestTokensSection {...view.ingestTokens} />
        {view.permissions.includes('delete') && deleteProjectForm(view.project, view.deleteErrors)}
      </div>
    </div>
  );
}

export function deleteProjectForm(project: ProjectSummary, errors?: FieldErrors) {
  return (
    <DeleteConfirmation
      action={`/projects/${project.project_id}`}
      noun="project"
      name={project.name}
      consequences={`Deletes its ${project.resource_count} resource(s) and every role assignment on them. The operator tears the workloads down. This cannot be undone.`}
      {...(errors ? { errors } : {})}
    />
  );
}
