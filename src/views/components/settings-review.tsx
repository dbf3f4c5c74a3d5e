import { stringify } from 'yaml';
import type { SettingsChange } from '../../lib/settings-diff.ts';

/**
 * What the review pages show: settings as YAML or JSON (a CSS-only switch — radio inputs and
 * Tailwind `peer` variants — so it needs no script), and a field-by-field diff. Callers pass
 * settings with secrets already masked.
 */

const preClass =
  'max-h-[32rem] overflow-auto rounded bg-slate-50 p-3 text-xs leading-relaxed dark:bg-slate-950';
const switchLabel = 'cursor-pointer rounded px-2 py-1 text-xs font-medium text-slate-600 dark:text-slate-300';

export function SettingsDocument(props: { settings: Record<string, unknown>; id: string }) {
  const yamlId = `${props.id}-yaml`;
  const jsonId = `${props.id}-json`;
  // The panels must follow the radios as siblings for `peer-checked` to reach them.
  return (
    <div class="flex flex-wrap gap-1">
      <input type="radio" name={`${props.id}-format`} id={yamlId} class="peer/yaml sr-only" checked />
      <label
        for={yamlId}
        class={`${switchLabel} peer-checked/yaml:bg-indigo-100 peer-checked/yaml:text-indigo-800 peer-focus-visible/yaml:ring-2 dark:peer-checked/yaml:bg-indigo-900 dark:peer-checked/yaml:text-indigo-100`}
      >
        YAML
      </label>
      <input type="radio" name={`${props.id}-format`} id={jsonId} class="peer/json sr-only" />
      <label
        for={jsonId}
        class={`${switchLabel} peer-checked/json:bg-indigo-100 peer-checked/json:text-indigo-800 peer-focus-visible/json:ring-2 dark:peer-checked/json:bg-indigo-900 dark:peer-checked/json:text-indigo-100`}
      >
        JSON
      </label>
      <pre class={`${preClass} hidden basis-full peer-checked/yaml:block`} data-testid={yamlId}>
        {stringify(props.settings)}
      </pre>
      <pre class={`${preClass} hidden basis-full peer-checked/json:block`} data-testid={props.id}>
        {JSON.stringify(props.settings, null, 2)}
      </pre>
    </div>
  );
}

function shown(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}

const kindStyles: Record<SettingsChange['kind'], string> = {
  added: 'bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200',
  removed: 'bg-rose-50 text-rose-800 dark:bg-rose-950 dark:text-rose-200',
  changed: 'bg-amber-50 text-amber-800 dark:bg-amber-950 dark:text-amber-200',
};

/** The changes as a table: field (JSON pointer), before, after. */
export function SettingsChanges(props: { changes: SettingsChange[]; empty: string; caption: string }) {
  if (props.changes.length === 0) {
    return (
      <p class="text-sm text-slate-600 dark:text-slate-300" data-testid="settings-diff">
        {props.empty}
      </p>
    );
  }
  return (
    <div class="overflow-x-auto">
      <table class="w-full text-left text-xs" data-testid="settings-diff">
        <caption class="sr-only">{props.caption}</caption>
        <thead class="text-slate-500">
          <tr>
            <th scope="col" class="py-1 pr-3 font-medium">
              Field
            </th>
            <th scope="col" class="py-1 pr-3 font-medium">
              Change
            </th>
            <th scope="col" class="py-1 pr-3 font-medium">
              Before
            </th>
            <th scope="col" class="py-1 font-medium">
              After
            </th>
          </tr>
        </thead>
        <tbody class="divide-y divide-slate-100 font-mono dark:divide-slate-800">
          {props.changes.map((change) => (
            <tr data-pointer={change.pointer} data-kind={change.kind}>
              <td class="py-1 pr-3 align-top">{change.pointer || '/'}</td>
              <td class="py-1 pr-3 align-top">
                <span class={`rounded px-1.5 py-0.5 font-sans ${kindStyles[change.kind]}`}>
                  {change.kind}
                </span>
              </td>
              <td class="max-w-xs break-all py-1 pr-3 align-top text-rose-700 line-through dark:text-rose-300">
                {shown(change.before)}
              </td>
              <td class="max-w-xs break-all py-1 align-top text-emerald-700 dark:text-emerald-300">
                {shown(change.after)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
