import type { DeploymentEvent } from '../../db/resource-deployments.repository.ts';
import type { ResourceState } from '../../db/resource-states.repository.ts';
import type { DeploymentSummary } from '../../services/deployment-status.ts';
import { LiveStatusBadge } from './resource-status.tsx';
import { LIST_TABLE_HEAD, TableHeader } from './table-header.tsx';

/**
 * A project's resource list, row by row, and what the project's event stream sends to keep it
 * current: the page rendered at load and the page updated live show the same markup.
 */

export const RESOURCE_ROWS_ID = 'resource-rows';
export const resourceRowId = (resourceId: string) => `resource-row-${resourceId}`;

type RowResource = Pick<
  ResourceState,
  'resource_id' | 'project_id' | 'name' | 'type' | 'sku' | 'status' | 'updated_at'
>;

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function ResourceRow(props: { resource: RowResource; summary: DeploymentSummary | null; now?: Date }) {
  const r = props.resource;
  return (
    <tr id={resourceRowId(r.resource_id)} data-resource-id={r.resource_id}>
      <td class="px-4 py-2">
        <a
          href={`/projects/${r.project_id}/resources/${r.resource_id}`}
          class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
        >
          {r.name}
        </a>
        <div class="text-xs text-slate-500">{r.resource_id}</div>
      </td>
      <td class="px-4 py-2">{r.type}</td>
      <td class="px-4 py-2">{r.sku}</td>
      <td class="px-4 py-2">
        <LiveStatusBadge
          projectId={r.project_id}
          resourceId={r.resource_id}
          summary={props.summary}
          status={r.status}
          now={props.now}
        />
      </td>
      <td class="px-4 py-2 tabular-nums text-slate-500">{when(r.updated_at)}</td>
    </tr>
  );
}

/** The list; its last row says the project is empty and shows only when it is the only row. */
export function ResourceTable(props: {
  resources: RowResource[];
  summaries: Record<string, DeploymentSummary> | undefined;
  now: Date | undefined;
}) {
  return (
    <div class="overflow-hidden rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
        <TableHeader
          class={LIST_TABLE_HEAD}
          cellClass="px-4 py-2"
          columns={['Name', 'Type', 'SKU', 'Status', 'Updated']}
        />
        <tbody id={RESOURCE_ROWS_ID} class="divide-y divide-slate-100 dark:divide-slate-800">
          {props.resources.map((resource) => (
            <ResourceRow
              resource={resource}
              summary={props.summaries?.[resource.resource_id] ?? null}
              now={props.now}
            />
          ))}
          <tr class="hidden only:table-row" data-testid="no-resources">
            <td colspan={5} class="px-4 py-6 text-sm text-slate-600 dark:text-slate-300">
              No resources in this project yet.
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

/**
 * What a project's stream sends to the resource list for one event: the resource's row, which
 * replaces the row on the page, or — when the page has no such row yet (a resource created since
 * it loaded) — is added at the top of the list (the `:not(:has())` target matches only then; htmx
 * resolves every target before it swaps). A deleted resource's row is removed.
 */
export function projectEventFragment(props: {
  event: DeploymentEvent;
  resource: ResourceState | null;
  summary: DeploymentSummary | null;
  now: Date;
}) {
  const rowId = resourceRowId(props.event.resource_id);
  if (!props.resource) {
    return <hx-partial hx-target={`#${rowId}`} hx-swap="delete" />;
  }
  const row = <ResourceRow resource={props.resource} summary={props.summary} now={props.now} />;
  return (
    <>
      <hx-partial hx-target={`#${rowId}`} hx-swap="outerHTML">
        {row}
      </hx-partial>
      <hx-partial hx-target={`#${RESOURCE_ROWS_ID}:not(:has(#${rowId}))`} hx-swap="afterbegin">
        {row}
      </hx-partial>
    </>
  );
}
