import type { Child } from 'hono/jsx';
import type { ResourceView } from '../../services/resources.ts';
import { Card, PageHeader } from '../components/form.tsx';
import { resourceTabs } from './resource-pages.tsx';

export interface ResourceSettingsView {
  resource: ResourceView;
  projectName: string;
  form: Child;
  /** The raw JSON editor of the same settings. */
  raw: Child;
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
      <div class="grid gap-6 xl:grid-cols-2">
        <Card title="Form">{view.form}</Card>
        <Card title="JSON">{view.raw}</Card>
      </div>
    </div>
  );
}

/**
 * The raw JSON editor: the same settings as text, validated by the same schema on save. Secret
 * values are left out; a secret missing from the JSON keeps its stored value.
 */
export function RawSettingsEditor(props: {
  action: string;
  generation: number;
  json: string;
  errors?: Array<{ pointer: string; message: string }>;
  alert?: string | undefined;
}) {
  return (
    <form
      id="raw-settings"
      method="post"
      action={props.action}
      hx-post={props.action}
      hx-target="this"
      hx-swap="outerHTML"
      class="space-y-3"
    >
      <input type="hidden" name="generation" value={String(props.generation)} />
      {props.alert && (
        <p role="alert" class="text-sm text-rose-600 dark:text-rose-400">
          {props.alert}
        </p>
      )}
      {props.errors && props.errors.length > 0 && (
        <ul role="alert" class="list-disc pl-5 text-sm text-rose-600 dark:text-rose-400">
          {props.errors.map((error) => (
            <li>
              <code>{error.pointer || '/'}</code>: {error.message}
            </li>
          ))}
        </ul>
      )}
      <label for="raw-settings-json" class="block text-sm font-medium">
        settings_json
      </label>
      <textarea
        id="raw-settings-json"
        name="settings_json"
        rows={18}
        spellcheck={false}
        class="block w-full rounded-md border border-slate-300 bg-white p-3 font-mono text-xs dark:border-slate-700 dark:bg-slate-950"
      >
        {props.json}
      </textarea>
      <p class="text-xs text-slate-500">
        Secret values are not shown; leave them out to keep the stored ones.
      </p>
      <button
        type="submit"
        class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
      >
        Save JSON
      </button>
    </form>
  );
}
