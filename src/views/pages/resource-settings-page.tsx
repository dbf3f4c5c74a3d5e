import type { Child } from 'hono/jsx';
import type { ResourceView } from '../../services/resources.ts';
import { Card, PageHeader } from '../components/form.tsx';
import { resourceTabs } from './resource-pages.tsx';

export interface ResourceSettingsView {
  resource: ResourceView;
  projectName: string;
  form: Child;
  saved?: boolean;
}

/** The settings editor of a resource: the form generated from its type's schema. */
export function ResourceSettingsPage(view: ResourceSettingsView) {
  const r = view.resource;
  return (
    <div>
      <PageHeader
        title={`${r.name} settings`}
        eyebrow={
          <a href={`/projects/${r.project_id}/resources`} class="hover:underline">
            {view.projectName} / Resources
          </a>
        }
        subtitle={`${r.type} · ${r.sku} · version ${r.generation}`}
      />
      {resourceTabs(r, 'settings')}
      {view.saved && (
        <p
          role="status"
          class="mb-4 rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300"
        >
          Saved. The operator applies the new settings at its next poll.
        </p>
      )}
      <Card>{view.form}</Card>
    </div>
  );
}
