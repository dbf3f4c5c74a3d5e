import type { AuditEvent } from '../../db/types.ts';
import {
  AUDIT_FILTER_NAMES,
  AUDIT_PAGE_DEFAULT,
  type AuditFilterValues,
  instantInputValue,
} from '../../schemas/audit.ts';
import { Button, Card, type FieldErrors, FormAlert, PageHeader, TextField } from '../components/form.tsx';
import { organizationTabs } from './organization-pages.tsx';

/** Everything the audit log of one organization shows: the filters as typed and one page of events. */
export interface AuditLogView {
  orgId: string;
  orgName: string;
  /** What the caller may do on the organization (decides the tabs). */
  permissions: string[];
  values: AuditFilterValues;
  limit: number;
  errors?: FieldErrors;
  events: AuditEvent[];
  /** Cursor of the next (older) page, or null on the last one. */
  nextCursor: string | null;
  /** Set when this page starts after a cursor rather than at the newest event. */
  cursor?: string;
  /** How many rows one CSV export holds at most. */
  csvLimit: number;
}

/** The rows a "Load more" request appends, and the next "Load more" row when there is more. */
export interface AuditRowsView {
  orgId: string;
  values: AuditFilterValues;
  limit: number;
  events: AuditEvent[];
  nextCursor: string | null;
}

const COLUMNS = 7;

/** The URL of the audit log with these filters (only those set), e.g. for links and exports. */
export function auditUrl(
  orgId: string,
  values: AuditFilterValues,
  extra: { limit?: number; cursor?: string | null; format?: 'csv' } = {},
): string {
  const query = new URLSearchParams();
  for (const name of AUDIT_FILTER_NAMES) {
    const value = values[name];
    if (value) query.set(name, value);
  }
  if (extra.limit && extra.limit !== AUDIT_PAGE_DEFAULT) query.set('limit', String(extra.limit));
  if (extra.cursor) query.set('cursor', extra.cursor);
  if (extra.format) query.set('format', extra.format);
  const qs = query.toString();
  return `/organizations/${orgId}/audit${qs ? `?${qs}` : ''}`;
}

function formatTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 19)}`;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value === '' ? '""' : value;
  return JSON.stringify(value);
}

/** {field: {from, to}} as one line per field: "name: Old → New", "created" fields as "set to". */
function Changes(props: { changes: Record<string, unknown> }) {
  const entries = Object.entries(props.changes ?? {});
  if (entries.length === 0) return <span class="text-slate-400 dark:text-slate-500">—</span>;
  return (
    <ul class="space-y-0.5">
      {entries.map(([field, change]) => {
        const { from, to } = (change ?? {}) as { from?: unknown; to?: unknown };
        return (
          <li class="break-words">
            <span class="font-medium text-slate-700 dark:text-slate-200">{field}</span>:{' '}
            {from === undefined ? (
              <>
                <span class="sr-only">set to </span>
                <code class="text-emerald-700 dark:text-emerald-400">{formatValue(to)}</code>
              </>
            ) : to === undefined ? (
              <>
                <span class="sr-only">removed, was </span>
                <code class="text-rose-700 line-through dark:text-rose-400">{formatValue(from)}</code>
              </>
            ) : (
              <>
                <code class="text-rose-700 dark:text-rose-400">{formatValue(from)}</code>
                <span aria-hidden="true"> → </span>
                <span class="sr-only"> changed to </span>
                <code class="text-emerald-700 dark:text-emerald-400">{formatValue(to)}</code>
              </>
            )}
          </li>
        );
      })}
    </ul>
  );
}

const cell = 'px-3 py-2 align-top';

function AuditRow(props: { event: AuditEvent }) {
  const event = props.event;
  return (
    <tr>
      <td class={`${cell} whitespace-nowrap tabular-nums`}>
        <time datetime={event.occurred_at.toISOString()}>{formatTime(event.occurred_at)}</time>
      </td>
      <td class={cell}>
        <div class="break-all">{event.actor_label ?? event.actor_id ?? '—'}</div>
        <div class="text-xs text-slate-500 dark:text-slate-400">{event.actor_type}</div>
      </td>
      <td class={cell}>
        <code class="text-xs">{event.action}</code>
      </td>
      <td class={cell}>
        <div class="text-xs text-slate-500 dark:text-slate-400">{event.target_type}</div>
        <div class="break-all">{event.target_id ?? '—'}</div>
      </td>
      <td class={`${cell} text-xs`}>
        <Changes changes={event.changes} />
      </td>
      <td class={`${cell} text-xs`}>
        <code class="break-all">{event.request_id ?? '—'}</code>
      </td>
      <td class={`${cell} whitespace-nowrap text-xs`} title={event.user_agent ?? undefined}>
        {event.ip ?? '—'}
      </td>
    </tr>
  );
}

/**
 * One page of rows, then a row with "Load more" that replaces itself with the next page. It is a
 * link to the same page after the cursor, so it also works without JavaScript.
 */
export function AuditRows(view: AuditRowsView) {
  const more = view.nextCursor
    ? auditUrl(view.orgId, view.values, { limit: view.limit, cursor: view.nextCursor })
    : null;
  return (
    <>
      {view.events.map((event) => (
        <AuditRow event={event} />
      ))}
      {more && (
        <tr id="audit-more">
          <td colspan={COLUMNS} class="px-3 py-3 text-center">
            <a
              href={more}
              hx-get={more}
              hx-target="closest tr"
              hx-swap="outerHTML"
              class="inline-flex items-center rounded-md bg-white px-3 py-2 text-sm font-semibold text-slate-700 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-800 dark:text-slate-200 dark:ring-slate-700 dark:hover:bg-slate-700"
            >
              Load more
            </a>
          </td>
        </tr>
      )}
      {!more && view.events.length === 0 && (
        <tr>
          <td colspan={COLUMNS} class="px-3 py-3 text-center text-sm text-slate-500 dark:text-slate-400">
            No older events.
          </td>
        </tr>
      )}
    </>
  );
}

/** What a "Load more" request gets when its link was tampered with: a row saying so. */
export function AuditRowsError(props: { message: string }) {
  return (
    <tr>
      <td colspan={COLUMNS} class="px-3 py-3 text-sm text-rose-700 dark:text-rose-300" role="alert">
        {props.message}
      </td>
    </tr>
  );
}

function AuditFilterForm(view: AuditLogView) {
  const action = auditUrl(view.orgId, {});
  const errors = view.errors ?? {};
  return (
    <search aria-label="Filter audit events">
      <form
        method="get"
        action={action}
        hx-get={action}
        hx-target="#audit-log"
        hx-swap="outerHTML"
        hx-push-url="true"
        class="space-y-4"
        novalidate
      >
        {hasErrors(view) && <FormAlert message="Some filters are invalid; correct them and apply again." />}
        <div class="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
          <TextField
            label="Actor"
            name="actor"
            type="search"
            value={view.values.actor}
            errors={errors}
            placeholder="email, token or user id"
            maxlength={200}
          />
          <TextField
            label="Action"
            name="action"
            type="search"
            value={view.values.action}
            errors={errors}
            placeholder="project."
            help="Starts with, e.g. project. or auth.login"
            maxlength={200}
          />
          <TextField
            label="Target"
            name="target"
            type="search"
            value={view.values.target}
            errors={errors}
            placeholder="id or type"
            maxlength={200}
          />
          <TextField
            label="From (UTC)"
            name="from"
            type="datetime-local"
            value={instantInputValue(view.values.from, 'from')}
            errors={errors}
          />
          <TextField
            label="To (UTC)"
            name="to"
            type="datetime-local"
            value={instantInputValue(view.values.to, 'to')}
            errors={errors}
            help="Includes the minute shown"
          />
        </div>
        {view.limit !== AUDIT_PAGE_DEFAULT && <input type="hidden" name="limit" value={String(view.limit)} />}
        <div class="flex items-center gap-3">
          <Button>Apply filters</Button>
          <a href={action} class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">
            Clear filters
          </a>
        </div>
      </form>
    </search>
  );
}

function hasErrors(view: AuditLogView): boolean {
  return Object.keys(view.errors ?? {}).length > 0;
}

function AuditResults(view: AuditLogView) {
  const filtered = AUDIT_FILTER_NAMES.some((name) => Boolean(view.values[name]));
  if (hasErrors(view)) return null;
  if (view.events.length === 0 && !view.cursor) {
    return (
      <p class="rounded-lg border border-dashed border-slate-300 p-6 text-sm text-slate-600 dark:border-slate-700 dark:text-slate-300">
        {filtered
          ? 'No events match these filters. Widen the time range or clear a filter.'
          : 'No events yet. Changes to this organization, its projects, resources, access and tokens will appear here.'}
      </p>
    );
  }
  return (
    <div class="space-y-3">
      {view.cursor && (
        <p class="text-sm text-slate-600 dark:text-slate-300">
          Showing older events.{' '}
          <a
            href={auditUrl(view.orgId, view.values, { limit: view.limit })}
            class="text-indigo-700 hover:underline dark:text-indigo-300"
          >
            Back to the newest
          </a>
        </p>
      )}
      <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-800">
          <caption class="sr-only">Audit events of {view.orgName}, newest first</caption>
          <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:bg-slate-800/50 dark:text-slate-400">
            <tr>
              <th scope="col" class="px-3 py-2">
                Time (UTC)
              </th>
              <th scope="col" class="px-3 py-2">
                Actor
              </th>
              <th scope="col" class="px-3 py-2">
                Action
              </th>
              <th scope="col" class="px-3 py-2">
                Target
              </th>
              <th scope="col" class="px-3 py-2">
                Changes
              </th>
              <th scope="col" class="px-3 py-2">
                Request id
              </th>
              <th scope="col" class="px-3 py-2">
                IP
              </th>
            </tr>
          </thead>
          <tbody id="audit-rows" class="divide-y divide-slate-100 dark:divide-slate-800">
            <AuditRows
              orgId={view.orgId}
              values={view.values}
              limit={view.limit}
              events={view.events}
              nextCursor={view.nextCursor}
            />
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** The filters and the results: what the filter form swaps (and pushes into history). */
export function AuditLog(view: AuditLogView) {
  const exportHref = auditUrl(view.orgId, view.values, { format: 'csv' });
  return (
    <div id="audit-log" class="space-y-6">
      <Card title="Filters">
        <AuditFilterForm {...view} />
      </Card>
      {!hasErrors(view) && (
        <p class="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-600 dark:text-slate-300">
          <span>Newest first. Times are UTC.</span>
          <a
            href={exportHref}
            download={`audit-${view.orgId}.csv`}
            class="font-medium text-indigo-700 hover:underline dark:text-indigo-300"
          >
            Export CSV
            <span class="sr-only"> of the events matching these filters</span>
          </a>
        </p>
      )}
      <AuditResults {...view} />
      {!hasErrors(view) && (
        <p class="text-xs text-slate-500 dark:text-slate-400">
          An export holds up to {view.csvLimit.toLocaleString('en-US')} events; narrow the time range for
          more.
        </p>
      )}
    </div>
  );
}

export function AuditPage(view: AuditLogView) {
  return (
    <div>
      <PageHeader
        title="Audit log"
        eyebrow={
          <a href={`/organizations/${view.orgId}`} class="hover:underline">
            {view.orgName}
          </a>
        }
        subtitle="Who changed what in this organization, when and from where."
      />
      {organizationTabs(view.orgId, 'audit', view.permissions)}
      <AuditLog {...view} />
    </div>
  );
}
