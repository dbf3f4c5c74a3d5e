import type { ProjectSummary } from '../../db/projects.repository.ts';
import type { Organization } from '../../db/types.ts';
import { DeleteConfirmation } from '../components/delete-confirmation.tsx';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, TextField } from '../components/form.tsx';
import { Tabs } from '../components/tabs.tsx';
import { ProjectTable } from './project-pages.tsx';

export interface OrganizationsView {
  organizations: Organization[];
  form?: { values: { name?: string; org_id?: string }; errors?: FieldErrors; alert?: string };
}

export function CreateOrganizationForm(props: NonNullable<OrganizationsView['form']>) {
  const errors = props.errors ?? {};
  return (
    <form
      id="create-organization"
      method="post"
      action="/organizations"
      hx-post="/organizations"
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <FormAlert message={props.alert} />
      <TextField
        label="Name"
        name="name"
        value={props.values.name}
        errors={errors}
        required
        maxlength={200}
        placeholder="Acme Inc."
      />
      <TextField
        label="Id (optional)"
        name="org_id"
        value={props.values.org_id}
        errors={errors}
        maxlength={63}
        help="Lowercase letters, digits and hyphens; it becomes part of Kubernetes names and cannot change later. Leave empty to derive it from the name."
      />
      <Button>Create organization</Button>
    </form>
  );
}

export function OrganizationsPage(view: OrganizationsView) {
  return (
    <div class="grid gap-8 lg:grid-cols-3">
      <div class="lg:col-span-2">
        <PageHeader title="Organizations" subtitle="Organizations own projects, billing and access." />
        {view.organizations.length === 0 ? (
          <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
            You are not a member of any organization yet. Create one, or ask an Owner to invite you.
          </p>
        ) : (
          <ul class="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
            {view.organizations.map((org) => (
              <li>
                <a
                  href={`/organizations/${org.org_id}`}
                  class="flex items-center justify-between px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800"
                >
                  <span class="font-medium">{org.name}</span>
                  <code class="text-xs text-slate-500">{org.org_id}</code>
                </a>
              </li>
            ))}
          </ul>
        )}
      </div>
      <Card title="New organization">
        <CreateOrganizationForm {...(view.form ?? { values: {} })} />
      </Card>
    </div>
  );
}

export interface OrganizationView {
  organization: Organization;
  projects: ProjectSummary[];
  permissions: string[];
  projectForm?: {
    values: { name?: string; project_id?: string; description?: string };
    errors?: FieldErrors;
    alert?: string;
  };
}

export function organizationTabs(
  orgId: string,
  current: 'projects' | 'access' | 'audit' | 'billing' | 'settings' | 'monitoring',
  permissions: readonly string[],
) {
  const items = [
    { href: `/organizations/${orgId}`, label: 'Projects', current: current === 'projects' },
    { href: `/organizations/${orgId}/monitoring`, label: 'Monitoring', current: current === 'monitoring' },
    { href: `/organizations/${orgId}/access`, label: 'Access', current: current === 'access' },
    { href: `/organizations/${orgId}/billing`, label: 'Billing', current: current === 'billing' },
  ];
  if (permissions.includes('manage_access'))
    items.push({ href: `/organizations/${orgId}/audit`, label: 'Audit log', current: current === 'audit' });
  if (permissions.includes('write'))
    items.push({
      href: `/organizations/${orgId}/settings`,
      label: 'Settings',
      current: current === 'settings',
    });
  return <Tabs items={items} />;
}

export function CreateProjectForm(props: { orgId: string } & NonNullable<OrganizationView['projectForm']>) {
  const errors = props.errors ?? {};
  const action = `/organizations/${props.orgId}/projects`;
  return (
    <form
      id="create-project"
      method="post"
      action={action}
      hx-post={action}
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <FormAlert message={props.alert} />
      <TextField
        label="Name"
        name="name"
        value={props.values.name}
        errors={errors}
        required
        maxlength={200}
        placeholder="Production"
      />
      <TextField
        label="Id (optional)"
        name="project_id"
        value={props.values.project_id}
        errors={errors}
        maxlength={63}
        help="Becomes the Kubernetes namespace; cannot change later."
      />
      <TextField
        label="Description (optional)"
        name="description"
        value={props.values.description}
        errors={errors}
        maxlength={2000}
      />
      <Button>Create project</Button>
    </form>
  );
}

export function OrganizationPage(view: OrganizationView) {
  const org = view.organization;
  return (
    <div>
      <PageHeader
        title={org.name}
        eyebrow={
          <a href="/organizations" class="hover:underline">
            Organizations
          </a>
        }
        subtitle={<code>{org.org_id}</code>}
      />
      {organizationTabs(org.org_id, 'projects', view.permissions)}
      <div class="grid gap-8 lg:grid-cols-3">
        <div class="lg:col-span-2">
          <ProjectTable
            projects={view.projects}
            empty="No projects yet. Create the first one to start deploying resources."
          />
        </div>
        {view.permissions.includes('write') && (
          <Card title="New project">
            <CreateProjectForm orgId={org.org_id} {...(view.projectForm ?? { values: {} })} />
          </Card>
        )}
      </div>
    </div>
  );
}

export interface OrganizationSettingsView {
  organization: Organization;
  permissions: string[];
  renameErrors?: FieldErrors;
  deleteErrors?: FieldErrors;
  saved?: boolean;
}

export function RenameOrganizationForm(props: {
  organization: Organization;
  errors?: FieldErrors | undefined;
  saved?: boolean | undefined;
}) {
  const action = `/organizations/${props.organization.org_id}`;
  return (
    <form
      id="rename-organization"
      hx-patch={action}
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-4"
      novalidate
    >
      <TextField
        label="Name"
        name="name"
        value={props.organization.name}
        errors={props.errors}
        required
        maxlength={200}
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

export function OrganizationSettingsPage(view: OrganizationSettingsView) {
  const org = view.organization;
  return (
    <div>
      <PageHeader
        title={org.name}
        eyebrow={
          <a href="/organizations" class="hover:underline">
            Organizations
          </a>
        }
        subtitle={<code>{org.org_id}</code>}
      />
      {organizationTabs(org.org_id, 'settings', view.permissions)}
      <div class="max-w-xl space-y-6">
        <Card title="General">
          <RenameOrganizationForm organization={org} errors={view.renameErrors} saved={view.saved} />
        </Card>
        {view.permissions.includes('delete') && deleteOrganizationForm(org, view.deleteErrors)}
      </div>
    </div>
  );
}

export function deleteOrganizationForm(org: Organization, errors?: FieldErrors) {
  return (
    <DeleteConfirmation
      action={`/organizations/${org.org_id}`}
      noun="organization"
      name={org.name}
      consequences="Deletes every project and resource in it, with all role assignments. The operator tears the workloads down. This cannot be undone."
      {...(errors ? { errors } : {})}
    />
  );
}
