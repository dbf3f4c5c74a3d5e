import type { DeploymentEvent } from '../../db/resource-deployments.repository.ts';
import type { Resource } from '../../db/types.ts';
import {
  type DeploymentSummary,
  type StatusTone,
  summarizeDeployment,
} from '../../services/deployment-status.ts';

/**
 * A resource's deployment status as pages show it, and the fragments its event streams send to
 * keep those pages current (routes/resource-events.tsx): each fragment replaces an element by id,
 * so the page rendered at load and the page updated live show exactly the same markup.
 */

const toneClasses: Record<StatusTone, string> = {
  healthy: 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-300',
  working: 'bg-sky-100 text-sky-800 dark:bg-sky-900/40 dark:text-sky-300',
  warning:
    'bg-amber-100 text-amber-900 ring-1 ring-amber-400 dark:bg-amber-900/40 dark:text-amber-200 dark:ring-amber-600',
  failed: 'bg-rose-100 text-rose-800 ring-1 ring-rose-400 dark:bg-rose-900/40 dark:text-rose-300',
  idle: 'bg-slate-100 text-slate-700 dark:bg-slate-800 dark:text-slate-300',
};

export function StatusBadge(props: { status: string; tone: StatusTone; stuck?: boolean }) {
  return (
    <span
      class={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${toneClasses[props.tone]}`}
      data-status={props.status}
      data-tone={props.tone}
    >
      {props.tone === 'warning' || props.tone === 'failed' ? <span aria-hidden="true">⚠</span> : null}
      {props.status}
      {props.stuck ? <span class="font-semibold"> · stuck</span> : null}
    </span>
  );
}

/** The tone a status had when an event recorded it (a past status is never "stuck"). */
function eventTone(event: DeploymentEvent): StatusTone {
  if (event.deployment_state === 'deleted') return 'idle';
  return summarizeDeployment(
    {
      status: event.status,
      status_changed_at: event.at,
      generation: event.generation,
      observed_generation: event.observed_generation,
      deployment_state: event.deployment_state as Resource['deployment_state'],
      error_message: event.message,
    },
    event.at,
    Number.POSITIVE_INFINITY,
  ).tone;
}

export const statusBadgeId = (resourceId: string) => `resource-status-${resourceId}`;
export const deploymentPanelId = (resourceId: string) => `deployment-${resourceId}`;
export const timelineId = (resourceId: string) => `timeline-${resourceId}`;

/** The resource's page, which holds its badge and deployment panel by id (see refreshWhenStuck). */
const resourcePageUrl = (projectId: string, resourceId: string) =>
  `/projects/${projectId}/resources/${resourceId}`;

/**
 * "Stuck" depends on the time, not on an event: nothing is streamed when a status merely lasts too
 * long. So an element showing a transient status asks htmx to fetch itself again (picked out of
 * the resource's page by id) at the moment it would turn stuck; an event that arrives first
 * replaces the element, and its timer with it.
 */
function refreshWhenStuck(
  summary: DeploymentSummary | null,
  projectId: string,
  resourceId: string,
  elementId: string,
  now: Date | undefined,
) {
  if (!summary?.stuck_at || !now) return {};
  const delayMs = Math.max(0, new Date(summary.stuck_at).getTime() - now.getTime()) + 1000;
  return {
    'hx-get': resourcePageUrl(projectId, resourceId),
    'hx-select': `#${elementId}`,
    'hx-target': 'this',
    'hx-swap': 'outerHTML',
    'hx-trigger': `load delay:${delayMs}ms`,
    'data-stuck-at': summary.stuck_at,
  };
}

/**
 * The badge of a resource, by id so a stream can replace it. Without a summary (the row is gone)
 * it shows the last recorded status.
 */
export function LiveStatusBadge(props: {
  projectId: string;
  resourceId: string;
  summary: DeploymentSummary | null;
  status: string;
  /** When the summary was made; with it, a transient status refreshes itself when it turns stuck. */
  now?: Date;
}) {
  const id = statusBadgeId(props.resourceId);
  return (
    <span
      id={id}
      data-testid="status-badge"
      {...refreshWhenStuck(props.summary, props.projectId, props.resourceId, id, props.now)}
    >
      {props.summary ? (
        <StatusBadge status={props.summary.status} tone={props.summary.tone} stuck={props.summary.stuck} />
      ) : (
        <StatusBadge status={props.status} tone="idle" />
      )}
    </span>
  );
}

function time(iso: string, seconds = false) {
  return (
    <time datetime={iso} class="tabular-nums">
      {`${iso.slice(0, seconds ? 19 : 16).replace('T', ' ')} UTC`}
    </time>
  );
}

/** Status, since when, whether the latest settings are applied, and what to do when it is off. */
export function DeploymentPanel(props: {
  projectId: string;
  resourceId: string;
  summary: DeploymentSummary | null;
  now?: Date;
}) {
  const s = props.summary;
  const id = deploymentPanelId(props.resourceId);
  if (!s) {
    return (
      <div id={id} data-testid="deployment-panel" data-deleted="true">
        <p class="text-sm text-slate-600 dark:text-slate-300">
          This resource has been deleted; its workload is gone.
        </p>
      </div>
    );
  }
  const highlighted = s.tone === 'warning' || s.tone === 'failed';
  const frame = highlighted
    ? s.tone === 'failed'
      ? 'rounded-md border border-rose-300 bg-rose-50 p-3 dark:border-rose-800 dark:bg-rose-950/40'
      : 'rounded-md border border-amber-300 bg-amber-50 p-3 dark:border-amber-800 dark:bg-amber-950/40'
    : '';
  return (
    <div
      id={id}
      {...refreshWhenStuck(s, props.projectId, props.resourceId, id, props.now)}
      class={frame}
      data-testid="deployment-panel"
      data-status={s.status}
      data-changes={s.changes}
      data-stuck={String(s.stuck)}
    >
      <dl class="grid grid-cols-3 gap-y-2 text-sm">
        <dt class="text-slate-500">Status</dt>
        <dd class="col-span-2">
          <StatusBadge status={s.status} tone={s.tone} stuck={s.stuck} />
        </dd>
        <dt class="text-slate-500">Since</dt>
        <dd class="col-span-2">{time(s.since, true)}</dd>
        <dt class="text-slate-500">Settings</dt>
        <dd class="col-span-2" data-testid="changes">
          {s.changes === 'applied' ? (
            <span class="text-emerald-700 dark:text-emerald-300">Applied (version {s.generation})</span>
          ) : (
            <span class="text-sky-700 dark:text-sky-300">
              Changes pending (version {s.generation}
              {s.observed_generation === null
                ? ', not yet seen by the operator)'
                : `, operator at ${s.observed_generation})`}
            </span>
          )}
        </dd>
        {s.deployment_state !== 'deployed' && (
          <>
            <dt class="text-slate-500">Deployment</dt>
            <dd class="col-span-2">{s.deployment_state === 'undeployed' ? 'Undeployed' : 'Being deleted'}</dd>
          </>
        )}
      </dl>
      {s.guidance && (
        <p
          class={`mt-3 text-sm ${highlighted ? 'text-amber-900 dark:text-amber-200' : 'text-slate-600 dark:text-slate-300'}`}
          role={s.stuck ? 'alert' : undefined}
          data-testid="guidance"
        >
          {s.stuck && <strong>Stuck. </strong>}
          {s.guidance}
        </p>
      )}
    </div>
  );
}

export function TimelineEntry(props: { event: DeploymentEvent }) {
  const e = props.event;
  return (
    <li class="flex flex-wrap items-baseline gap-x-3 gap-y-1 py-2" data-event-id={e.event_id}>
      <span class="text-xs text-slate-500">{time(e.at.toISOString(), true)}</span>
      <StatusBadge status={e.status} tone={eventTone(e)} />
      <span class="text-xs text-slate-500">
        version {e.generation}
        {e.observed_generation !== null && ` · operator at ${e.observed_generation}`}
        {e.deployment_state !== 'deployed' && ` · ${e.deployment_state}`}
      </span>
      {e.message && <span class="w-full text-xs text-rose-700 dark:text-rose-300">{e.message}</span>}
    </li>
  );
}

/** Status transitions, newest first; a stream prepends new ones. */
export function Timeline(props: { resourceId: string; events: DeploymentEvent[] }) {
  return (
    <ol
      id={timelineId(props.resourceId)}
      class="divide-y divide-slate-100 dark:divide-slate-800"
      data-testid="timeline"
    >
      {props.events.map((event) => (
        <TimelineEntry event={event} />
      ))}
      <li class="hidden py-2 text-sm text-slate-500 only:block">No status changes recorded yet.</li>
    </ol>
  );
}

/**
 * Connects the page to an event stream through htmx's SSE extension: unnamed messages carry
 * `<hx-partial>` fragments that replace elements by id (nothing is swapped into this element).
 * The URL carries the cursor the page was rendered at, so nothing between render and connect is
 * lost; on reconnect htmx sends Last-Event-ID, which takes precedence. A `revoked` event (access
 * withdrawn) closes the connection for good.
 */
export function LiveUpdates(props: { url: string }) {
  return <div hidden hx-sse:connect={props.url} hx-swap="none" hx-sse:close="revoked" data-testid="live" />;
}

/** What the resource's own stream sends to its page for one event. */
export function resourceEventFragment(props: {
  event: DeploymentEvent;
  summary: DeploymentSummary | null;
  now: Date;
}) {
  const { project_id: projectId, resource_id: resourceId } = props.event;
  return (
    <>
      <hx-partial hx-target={`#${statusBadgeId(resourceId)}`} hx-swap="outerHTML">
        <LiveStatusBadge
          projectId={projectId}
          resourceId={resourceId}
          summary={props.summary}
          status={props.event.status}
          now={props.now}
        />
      </hx-partial>
      <hx-partial hx-target={`#${deploymentPanelId(resourceId)}`} hx-swap="outerHTML">
        <DeploymentPanel
          projectId={projectId}
          resourceId={resourceId}
          summary={props.summary}
          now={props.now}
        />
      </hx-partial>
      <hx-partial hx-target={`#${timelineId(resourceId)}`} hx-swap="afterbegin">
        <TimelineEntry event={props.event} />
      </hx-partial>
    </>
  );
}
