import { PageHeader } from '../components/form.tsx';
import { type LogsPlace, logsBase } from './logs-page.tsx';
import { projectTabs } from './project-pages.tsx';
import { resourceTabs } from './resource-pages.tsx';

/**
 * The live tail: new lines of a resource (or project) as they arrive, through its SSE stream with
 * `logs=1&q=…` (the filter applies on the server). The `logTail` Alpine component
 * (static-src/log-tail.js) appends lines, follows the newest while the view is at the bottom,
 * pauses — visibly — when the user scrolls up or presses Pause, counts lines dropped (by the
 * server when the client fell behind, or by the page while paused), and keeps at most
 * `data-max-lines` lines in the page.
 */
export interface LogTailView {
  place: LogsPlace;
  q: string;
  queryError?: string | undefined;
}

export const TAIL_MAX_LINES = 1_000;
export const TAIL_MAX_BUFFERED = 5_000;

export function LogTailPage(view: LogTailView) {
  const { place } = view;
  const base = logsBase(place);
  const events =
    place.kind === 'resource'
      ? `/projects/${place.projectId}/resources/${place.resourceId}/events`
      : `/projects/${place.projectId}/events`;
  const stream = `${events}?${new URLSearchParams({ logs: '1', q: view.q }).toString()}`;
  const searchLink = `${base}?${new URLSearchParams({ q: view.q, range: '15m' }).toString()}`;
  return (
    <div>
      <PageHeader
        title={`Live tail of ${place.kind === 'resource' ? (place.resourceName ?? place.resourceId) : place.projectName}`}
        eyebrow={
          <a href={base} class="hover:underline">
            Logs
          </a>
        }
        subtitle="New lines appear as they arrive; status changes are on the search page."
        actions={
          <a
            href={searchLink}
            class="rounded-md px-3 py-2 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:ring-slate-700 dark:hover:bg-slate-800"
          >
            Search instead
          </a>
        }
      />
      {place.kind === 'resource'
        ? resourceTabs({ project_id: place.projectId, resource_id: place.resourceId ?? '' }, 'logs')
        : projectTabs(place.projectId, 'logs', place.permissions)}
      <form
        method="get"
        action={`${base}/tail`}
        class="mb-4 flex flex-wrap items-end gap-3"
        aria-label="Filter the tail"
      >
        <div class="min-w-72 flex-1">
          <label for="tail-query" class="block text-sm font-medium text-slate-700 dark:text-slate-200">
            Filter
          </label>
          <input
            id="tail-query"
            name="q"
            type="search"
            value={view.q}
            placeholder="level:>=warn -healthcheck"
            aria-invalid={view.queryError ? 'true' : undefined}
            aria-describedby={view.queryError ? 'tail-query-error' : undefined}
            class={`mt-1 block w-full rounded-md border bg-white px-3 py-2 font-mono text-sm dark:bg-slate-900 ${view.queryError ? 'border-rose-500' : 'border-slate-300 dark:border-slate-700'}`}
          />
          {view.queryError && (
            <p id="tail-query-error" role="alert" class="mt-1 text-sm text-rose-600 dark:text-rose-400">
              {view.queryError}
            </p>
          )}
        </div>
        <button
          type="submit"
          class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
        >
          Apply filter
        </button>
      </form>
      {!view.queryError && (
        <section
          x-data="logTail"
          data-stream={stream}
          data-max-lines={String(TAIL_MAX_LINES)}
          data-max-buffered={String(TAIL_MAX_BUFFERED)}
          aria-label="Live log lines"
          class="rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900"
        >
          <div class="flex flex-wrap items-center justify-between gap-3 border-b border-slate-200 px-4 py-2 text-sm dark:border-slate-800">
            <p role="status" class="flex items-center gap-2">
              <span
                id="tail-state"
                x-text="state"
                x-bind:class="stateClass"
                class="rounded px-2 py-0.5 text-xs font-semibold"
              >
                Connecting…
              </span>
              <span class="text-slate-600 dark:text-slate-300">
                <span id="tail-shown" x-text="shown">
                  0
                </span>{' '}
                lines shown ·{' '}
                <span id="tail-waiting" x-text="waiting">
                  0
                </span>{' '}
                waiting ·{' '}
                <span id="tail-dropped" x-text="dropped">
                  0
                </span>{' '}
                dropped
              </span>
            </p>
            <div class="flex gap-2">
              <button
                id="tail-toggle"
                type="button"
                x-on:click="toggle"
                x-text="toggleLabel"
                class="rounded-md bg-white px-3 py-1.5 text-sm font-semibold ring-1 ring-slate-300 hover:bg-slate-50 dark:bg-slate-900 dark:ring-slate-700"
              >
                Pause
              </button>
            </div>
          </div>
          <ol
            x-ref="lines"
            x-on:scroll="onScroll"
            id="tail-lines"
            role="log"
            aria-live="off"
            class="h-[60vh] overflow-y-auto px-4 py-2 font-mono text-xs"
          />
          <noscript>
            <p class="p-4 text-sm">The live tail needs JavaScript; the search page works without it.</p>
          </noscript>
        </section>
      )}
    </div>
  );
}
