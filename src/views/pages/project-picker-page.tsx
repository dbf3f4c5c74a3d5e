import type { ProjectSummary } from '../../db/projects.repository.ts';
import { PageHeader } from '../components/form.tsx';

/** A deep link to the wizard without a project: choose where the resource goes. */
export function ProjectPickerPage(view: {
  projects: Array<ProjectSummary & { org_name: string }>;
  query: string;
}) {
  return (
    <div class="max-w-2xl">
      <PageHeader title="New resource" subtitle="Choose the project it belongs to." />
      {view.projects.length === 0 ? (
        <p class="text-sm text-slate-600 dark:text-slate-300">
          You have no project yet. Create one in an organization first.
        </p>
      ) : (
        <ul class="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {view.projects.map((project) => (
            <li>
              <a
                class="flex justify-between px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800"
                href={`/projects/${project.project_id}/resources/new${view.query ? `?${view.query}` : ''}`}
              >
                <span class="font-medium">{project.name}</span>
                <span class="text-sm text-slate-500">{project.org_name}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
