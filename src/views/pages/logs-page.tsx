import type { SavedLogSearch } from '../../db/saved-log-searches.repository.ts';
import type { LogLevel } from '../../db/types.ts';
import type { LogContext, LogEntryJson, LogSearchResult } from '../../services/logs/search.ts';
import { Button, type FieldErrors, PageHeader, TextField } from '../components/form.tsx';
import { projectTabs } from './project-pages.tsx';
import { resourceTabs } from './resource-pages.tsx';

/**
 * Log search of a resource or of a whole project: query box, time range picker, the timeline
 * (log lines and status changes, newest first) with "load older" and "show context", saved
 * searches, downloads, and the way to the live tail. Everything works without JavaScript (plain
 * GET forms and links); htmx swaps the parts in place.
 */

export interface LogsPlace {
  kind: 'resource' | 'project';
  projectId: string;
  projectName: string;
  resourceId?: string | undefined;
  resourceName?: string | undefined;
  permissions: readonly string[];
}

export interface LogsPageView {
  place: LogsPlace;
  result: LogSearchResult;
  savedSearches: SavedLogSearch[];
  canWrite: boolean;
  /** A malformed query: the message and the offset it points at. */
  queryError?: { message: string; position: number } | undefined;
  saveErrors?: FieldErrors | undefined;
}

export function logsBase(place: Pick<LogsPlace, 'kind' | 'projectId' | 'resourceId'>): string {
  return place.kind === 'resource'
    ? `/projects/${place.projectId}/resources/${place.resourceId}/logs`
    : `/projects/${place.projectId}/logs`;
}

const LEVEL_STYLES: Record<LogLevel, string> = {
  trace: 'bg-slate-100 text-slate-600 dark:bg-slate-800 dark:text-slate-300',
  debug: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-200',
  info: 'bg-sky-50 text-sky-800 dark:bg-sky-950 dark:text-sky-200',
  warn: 'bg-amber-50 text-amber-800 dark:bg-amber-950 dark:text-amber-200',
  error: 'bg-rose-50 text-rose-800 dark:bg-rose-950 dark:text-rose-200',
  fatal: 'bg-rose-600 text-white dark:bg-rose-700',
};

export function LevelBadge(props: { level: LogLevel }) {
  return (
    <span
      class={`inline-block w-12 rounded px-1.5 py-0.5 text-center text-xs font-semibold uppercase ${LEVEL_STYLES[props.level]}`}
    >
      {props.level}
    </span>
  );
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** A datetime-local value (UTC) for the custom range inputs. */
function localInput(date: Date): string {
  return date.toISOString().slice(0, 16);
}

/** The search as query parameters (links: load older, downloads, tail, saved searches). */
export function searchParams(
  result: Pick<LogSearchResult, 'q' | 'range' | 'from' | 'to'>,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams();
  if (result.q) params.set('q', result.q);
  if (result.range === 'custom') {
    params.set('from', result.from.toISOString());
    params.set('to', result.to.toISOString());
  } else params.set('range', result.range);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
}

function attributesText(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

function contextId(entry: LogEntryJson): string {
  return `ctx-${entry.cursor}`;
}

export function LogEntryRows(props: {
  entry: LogEntryJson;
  base: string;
  showResource: boolean;
  highlight?: boolean;
}) {
  const { entry } = props;
  const attrs = attributesText(entry.attributes);
  return (
    <>
      <tr
        class={`align-top ${props.highlight ? 'bg-indigo-50 dark:bg-indigo-950' : ''} ${entry.kind === 'status' ? 'italic' : ''}`}
        data-log-kind={entry.kind}
      >
        <td class="whitespace-nowrap py-1 pr-3 pl-2 font-mono text-xs text-slate-500 dark:text-slate-400">
          <time datetime={entry.ts.toISOString()}>{isoSeconds(entry.ts)}</time>
        </td>
        <td class="py-1 pr-3">
          <LevelBadge level={entry.level} />
        </td>
        {props.showResource && (
          <td class="whitespace-nowrap py-1 pr-3 font-mono text-xs">{entry.resource_id}</td>
        )}
        <td class="py-1 pr-3 font-mono text-xs break-all">
          {entry.kind === 'status' && (
            <span class="mr-1 font-sans text-xs font-semibold not-italic text-indigo-700 dark:text-indigo-300">
              status
            </span>
          )}
          {entry.message}
          {attrs && <div class="text-slate-500 dark:text-slate-400">{attrs}</div>}
        </td>
        <td class="py-1 text-right">
          <button
            type="button"
            hx-get={`${props.base}/context?line=${entry.cursor}`}
            hx-target={`#${contextId(entry)}`}
            hx-swap="innerHTML"
            class="whitespace-nowrap pr-2 text-xs text-indigo-700 hover:underline dark:text-indigo-300"
          >
            Show context
          </button>
        </td>
      </tr>
      <tr>
        <td colspan={props.showResource ? 5 : 4} id={contextId(entry)} class="p-0" />
      </tr>
    </>
  );
}

/** The rows of one page, and a "load older" row that fetches the next page in its place. */
export function LogPageRows(props: { result: LogSearchResult; base: string; showResource: boolean }) {
  const next = props.result.next_cursor;
  return (
    <>
      {props.result.entries.map((entry) => (
        <LogEntryRows entry={entry} base={props.base} showResource={props.showResource} />
      ))}
      {next && (
        <tr id="load-older">
          <td colspan={props.showResource ? 5 : 4} class="py-3 text-center">
            <a
              href={`${props.base}?${searchParams(props.result, { cursor: next })}`}
              hx-get={`${props.base}?${searchParams(props.result, { cursor: next, part: 'rows' })}`}
              hx-target="#load-older"
              hx-swap="outerHTML"
              class="text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300"
            >
              Load older lines
            </a>
          </td>
        </tr>
      )}
    </>
  );
}

export function LogContextPanel(props: { context: LogContext; base: string; showResource: boolean }) {
  const { context } = props;
  return (
    <div class="my-1 rounded-md border border-indigo-200 bg-slate-50 p-2 dark:border-indigo-900 dark:bg-slate-950">
      <p class="mb-1 text-xs text-slate-600 dark:text-slate-300">
        Everything around this line (no filter): {context.before.length} before, {context.after.length} after.
      </p>
      <table class="min-w-full">
        <tbody>
          {context.before.map((entry) => (
            <ContextRow entry={entry} showResource={props.showResource} />
          ))}
          {context.line && <ContextRow entry={context.line} showResource={props.showResource} highlight />}
          {context.after.map((entry) => (
            <ContextRow entry={entry} showResource={props.showResource} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ContextRow(props: { entry: LogEntryJson; showResource: boolean; highlight?: boolean }) {
  const { entry } = props;
  return (
    <tr class={props.highlight ? 'bg-indigo-100 font-semibold dark:bg-indigo-900' : ''}>
      <td class="whitespace-nowrap pr-3 font-mono text-xs text-slate-500">{isoSeconds(entry.ts)}</td>
      <td class="pr-3">
        <LevelBadge level={entry.level} />
      </td>
      {props.showResource && <td class="pr-3 font-mono text-xs">{entry.resource_id}</td>}
      <td class="font-mono text-xs break-all">{entry.message}</td>
    </tr>
  );
}

export function SavedSearchesSection(props: {
  place: LogsPlace;
  result: Pick<LogSearchResult, 'q' | 'range' | 'from' | 'to'>;
  savedSearches: SavedLogSearch[];
  canWrite: boolean;
  errors?: FieldErrors | undefined;
}) {
  const base = logsBase(props.place);
  const collection = `/projects/${props.place.projectId}/saved-searches`;
  const range = props.result.range === 'custom' ? '1h' : props.result.range;
  // What a delete needs to render this section again for the same page.
  const sectionParams = new URLSearchParams({
    q: props.result.q,
    range,
    ...(props.place.resourceId ? { resource_id: props.place.resourceId } : {}),
  }).toString();
  return (
    <section
      id="saved-searches"
      aria-labelledby="saved-searches-title"
      class="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900"
    >
      <h2 id="saved-searches-title" class="text-sm font-semibold">
        Saved searches
      </h2>
      {props.savedSearches.length === 0 ? (
        <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">None yet.</p>
      ) : (
        <ul class="mt-2 space-y-1">
          {props.savedSearches.map((search) => (
            <li class="flex items-center justify-between gap-2 text-sm">
              <a
                class="truncate text-indigo-700 hover:underline dark:text-indigo-300"
                href={`${search.resource_id ? `/projects/${search.project_id}/resources/${search.resource_id}/logs` : base}?${new URLSearchParams({ q: search.query, range: search.time_range }).toString()}`}
                title={search.query}
              >
                {search.name}
              </a>
              {props.canWrite && (
                <button
                  type="button"
                  hx-delete={`${collection}/${search.search_id}?${sectionParams}`}
                  hx-confirm={`Delete the saved search "${search.name}"?`}
                  hx-target="#saved-searches"
                  hx-swap="outerHTML"
                  class="text-xs text-rose-700 hover:underline dark:text-rose-300"
                  aria-label={`Delete saved search ${search.name}`}
                >
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.canWrite && (
        <form
          method="post"
          action={collection}
          hx-post={collection}
          hx-target="#saved-searches"
          hx-swap="outerHTML"
          class="mt-3 space-y-2"
          novalidate
        >
          <input type="hidden" name="query" value={props.result.q} />
          <input type="hidden" name="time_range" value={range} />
          {props.place.kind === 'resource' && (
            <input type="hidden" name="resource_id" value={props.place.resourceId} />
          )}
          <TextField
            label="Save this search as"
            name="name"
            errors={props.errors}
            maxlength={100}
            placeholder="Errors last hour"
          />
          <Button variant="secondary">Save search</Button>
        </form>
      )}
    </section>
  );
}

const RANGE_LABELS = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: 'custom', label: 'Custom (UTC)' },
];

function SearchForm(props: {
  place: LogsPlace;
  result: LogSearchResult;
  queryError?: LogsPageView['queryError'];
}) {
  const base = logsBase(props.place);
  const error = props.queryError;
  return (
    <form
      method="get"
      action={base}
      hx-get={base}
      hx-target="#logs-page"
      hx-swap="outerHTML"
      hx-push-url="true"
      class="space-y-3"
      aria-label="Search log lines"
    >
      <div>
        <label for="log-query" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
          Query
        </label>
        <input
          id="log-query"
          name="q"
          type="search"
          value={props.result.q}
          placeholder='level:error "connection refused" attr.status:>=500 -healthcheck'
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'log-query-error' : 'log-query-help'}
          class={`mt-1 block w-full rounded-md border bg-white px-3 py-2 font-mono text-sm shadow-sm dark:bg-slate-900 ${error ? 'border-rose-500' : 'border-slate-300 dark:border-slate-700'}`}
        />
        {error ? (
          <p id="log-query-error" class="mt-1 text-sm text-rose-600 dark:text-rose-400" role="alert">
            {error.message}
            <span class="mt-1 block font-mono text-xs whitespace-pre text-rose-700 dark:text-rose-300">
              {props.result.q}
              {'\n'}
              {`${' '.repeat(error.position)}^`}
            </span>
          </p>
        ) : (
          <p id="log-query-help" class="mt-1 text-xs text-slate-500 dark:text-slate-400">
            Words and "phrases", level:error or level:&gt;=warn, attr.key:value, attr.key:&gt;=500,
            resource:id, -word or NOT to exclude; terms side by side must all match, OR for either (AND binds
            first), (parentheses) to group.
          </p>
        )}
      </div>
      <div class="flex flex-wrap items-end gap-3">
        <div>
          <label for="log-range" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
            Time range
          </label>
          <select
            id="log-range"
            name="range"
            class="mt-1 block rounded-md border border-slate-300 bg-white px-3 py-2 text-sm dark:border-slate-700 dark:bg-slate-900"
          >
            {RANGE_LABELS.map((option) => (
              <option value={option.value} selected={option.value === props.result.range}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="log-from" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
            From (UTC, custom)
          </label>
          <input
            id="log-from"
            name="from"
            type="datetime-local"
            value={props.result.range === 'custom' ? localInput(props.result.from) : ''}
            class="mt-1 block rounded-md border border-slate-300 bg-white px-2 py-2 text-sm dark:border-slate-700 dark:bg-slate-900"
          />
        </div>
        <div>
          <label for="log-to" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
            To (UTC, custom)
          </label>
          <input
            id="log-to"
            name="to"
            type="datetime-local"
            value={props.result.range === 'custom' ? localInput(props.result.to) : ''}
            class="mt-1 block rounded-md border border-slate-300 bg-white px-2 py-2 text-sm dark:border-slate-700 dark:bg-slate-900"
          />
        </div>
        <Button>Search</Button>
      </div>
    </form>
  );
}

export function LogsPage(view: LogsPageView) {
  const { place, result } = view;
  const base = logsBase(place);
  const showResource = place.kind === 'project';
  const title =
    place.kind === 'resource'
      ? `Logs of ${place.resourceName ?? place.resourceId}`
      : `Logs of ${place.projectName}`;
  return (
    <div id="logs-page">
      <PageHeader
        title={title}
        eyebrow={
          <a
            href={
              place.kind === 'resource'
                ? `/projects/${place.projectId}/resources`
                : `/projects/${place.projectId}`
            }
            class="hover:underline"
          >
            {place.projectName}
            {place.kind === 'resource' ? ' / Resources' : ''}
          </a>
        }
        subtitle={`${result.entries.length === 0 ? 'No lines' : 'Newest first'} between ${isoSeconds(result.from)} and ${isoSeconds(result.to)} UTC. Status changes appear among the lines.`}
        actions={
          <>
            <a
              href={`${base}/tail?${searchParams(result)}`}
              class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
            >
              Live tail
            </a>
            <a
              href={`${base}?${searchParams(result, { format: 'ndjson' })}`}
              download
              class="rounded-md px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800"
            >
              NDJSON
            </a>
            <a
              href={`${base}?${searchParams(result, { format: 'csv' })}`}
              download
              class="rounded-md px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800"
            >
              CSV
            </a>
          </>
        }
      />
      {place.kind === 'resource'
        ? resourceTabs({ project_id: place.projectId, resource_id: place.resourceId ?? '' }, 'logs')
        : projectTabs(place.projectId, 'logs', place.permissions)}
      <div class="grid gap-6 lg:grid-cols-[1fr_16rem]">
        <div class="min-w-0 space-y-4">
          <SearchForm place={place} result={result} queryError={view.queryError} />
          <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <table class="min-w-full text-sm" aria-label="Log lines">
              <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th scope="col" class="px-2 py-2">
                    Time (UTC)
                  </th>
                  <th scope="col" class="py-2 pr-3">
                    Level
                  </th>
                  {showResource && (
                    <th scope="col" class="py-2 pr-3">
                      Resource
                    </th>
                  )}
                  <th scope="col" class="py-2 pr-3">
                    Message
                  </th>
                  <th scope="col" class="py-2 pr-3">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody id="log-rows" class="divide-y divide-slate-100 px-2 dark:divide-slate-800">
                <LogPageRows result={result} base={base} showResource={showResource} />
              </tbody>
            </table>
            {result.entries.length === 0 && (
              <p class="p-6 text-sm text-slate-600 dark:text-slate-300">
                {view.queryError
                  ? 'Fix the query to search.'
                  : 'Nothing matches in this time range. Widen the range, loosen the query, or check that a shipper sends lines with an ingest token (project settings).'}
              </p>
            )}
          </div>
        </div>
        <aside>
          <SavedSearchesSection
            place={place}
            result={result}
            savedSearches={view.savedSearches}
            canWrite={view.canWrite}
            errors={view.saveErrors}
          />
        </aside>
      </div>
    </div>
  );
}
