import type {
  AlertChannel,
  AlertDelivery,
  AlertEvent,
  AlertRule,
  AlertSilence,
} from '../../db/alerts.repository.ts';
import {
  ALERT_COMPARATORS,
  ALERT_KINDS,
  ALERT_SEVERITIES,
  CHANNEL_KINDS,
  CONTROL_PLANE_METRICS,
} from '../../schemas/alerts.ts';
import { formatValue } from '../../services/alerts/evaluate.ts';
import type { RulePreview } from '../../services/alerts/rules.ts';
import {
  Button,
  Card,
  type FieldErrors,
  FormAlert,
  PageHeader,
  SelectField,
  TextField,
} from '../components/form.tsx';
import { TableHeader } from '../components/table-header.tsx';
import { projectTabs } from './project-pages.tsx';

/**
 * Alerts of a project: the rules with their state, the notification channels, silences and the
 * recent history (one page), a rule's own page (history and delivery log), a channel's delivery
 * log, and the rule form with its 24-hour preview.
 */

export interface ProjectHeading {
  project_id: string;
  name: string;
  org_id: string;
  permissions: string[];
}

export interface AlertsView {
  project: ProjectHeading;
  rules: AlertRule[];
  channels: AlertChannel[];
  silences: AlertSilence[];
  events: Array<AlertEvent & { rule_name: string }>;
  canWrite: boolean;
  channelForm?: { values: Record<string, string>; errors?: FieldErrors; alert?: string };
  silenceForm?: { values: Record<string, string>; errors?: FieldErrors };
  /** Only in the answer that created the webhook channel: the one time its secret is shown. */
  createdSecret?: { channel: AlertChannel; signing_secret: string };
}

const kindLabels: Record<(typeof ALERT_KINDS)[number], string> = {
  metric: 'Control-plane metric',
  promql: 'PromQL (resource metrics)',
  log: 'Log pattern count',
  status: 'Resource status',
  usage: 'Usage threshold',
};

const channelKindLabels: Record<(typeof CHANNEL_KINDS)[number], string> = {
  in_app: 'In-app (project members)',
  email: 'Email',
  webhook: 'Webhook (HMAC-signed)',
  alertmanager: 'Prometheus Alertmanager',
};

function when(value: Date | string | null): string {
  if (!value) return '—';
  return `${new Date(value).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const stateStyles: Record<string, string> = {
  firing: 'bg-rose-50 text-rose-700 ring-rose-600/20 dark:bg-rose-950 dark:text-rose-300',
  pending: 'bg-amber-50 text-amber-700 ring-amber-600/20 dark:bg-amber-950 dark:text-amber-300',
  inactive: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300',
  resolved: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300',
  delivered: 'bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300',
  failed: 'bg-rose-50 text-rose-700 ring-rose-600/20 dark:bg-rose-950 dark:text-rose-300',
  disabled: 'bg-slate-100 text-slate-600 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300',
};

export function StateBadge(props: { state: string; testId?: string }) {
  return (
    <span
      data-testid={props.testId}
      class={`inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${stateStyles[props.state] ?? stateStyles.disabled}`}
    >
      {props.state === 'inactive' ? 'ok' : props.state}
    </span>
  );
}

export function describeCondition(
  rule: Pick<AlertRule, 'kind' | 'params' | 'comparator' | 'threshold' | 'window_seconds' | 'for_seconds'>,
): string {
  const params = rule.params as Record<string, string>;
  const window = `${rule.window_seconds / 60} min`;
  const subject = (() => {
    switch (rule.kind) {
      case 'metric':
        return (
          CONTROL_PLANE_METRICS[params.metric as keyof typeof CONTROL_PLANE_METRICS]?.label ?? params.metric
        );
      case 'promql':
        return `PromQL ${params.query}`;
      case 'log':
        return `log lines matching ${params.query}`;
      case 'status':
        return `resources ${params.status ?? 'Degraded'} for longer than ${window}`;
      case 'usage':
        return `usage of ${params.metric}`;
    }
  })();
  const over = rule.kind === 'status' ? '' : ` over ${window}`;
  const hold = rule.for_seconds > 0 ? `, for ${rule.for_seconds / 60} min` : '';
  return `${subject} ${rule.comparator} ${rule.threshold}${over}${hold}`;
}

function Empty(props: { children: string }) {
  return <p class="text-sm text-slate-600 dark:text-slate-300">{props.children}</p>;
}

const thClass = 'py-2 pr-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500';
const linkClass = 'font-medium text-indigo-700 hover:underline dark:text-indigo-300';
const smallButton =
  'rounded-md bg-white px-2.5 py-1 text-xs font-semibold ring-1 ring-inset ring-slate-300 hover:bg-slate-50 dark:bg-slate-900 dark:ring-slate-700';

function RulesTable(props: { rules: AlertRule[]; projectId: string }) {
  if (props.rules.length === 0)
    return <Empty>No alert rules yet. Create one to be told when something is wrong.</Empty>;
  return (
    <table class="min-w-full text-sm" data-testid="alert-rules">
      <TableHeader cellClass={thClass} columns={['Rule', 'State', 'Condition', 'Last value', 'Severity']} />
      <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
        {props.rules.map((rule) => (
          <tr>
            <td class="py-2 pr-3">
              <a href={`/projects/${props.projectId}/alerts/${rule.rule_id}`} class={linkClass}>
                {rule.name}
              </a>
              <div class="text-xs text-slate-500">{kindLabels[rule.kind]}</div>
            </td>
            <td class="py-2 pr-3">
              <StateBadge state={rule.enabled ? rule.state : 'disabled'} testId={`rule-state-${rule.name}`} />
            </td>
            <td class="py-2 pr-3 text-slate-600 dark:text-slate-300">{describeCondition(rule)}</td>
            <td class="py-2 pr-3 tabular-nums">
              {rule.last_error ? (
                <span class="text-rose-600">{rule.last_error}</span>
              ) : (
                formatValue(rule.last_value)
              )}
            </td>
            <td class="py-2 pr-3">{rule.severity}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EventsTable(props: {
  events: Array<AlertEvent & { rule_name?: string }>;
  projectId: string;
  /** Off on a rule's own page, where every row is that rule. */
  showRule?: boolean;
}) {
  const showRule = props.showRule ?? true;
  if (props.events.length === 0) return <Empty>Nothing has happened yet.</Empty>;
  return (
    <table class="min-w-full text-sm" data-testid="alert-history">
      <TableHeader cellClass={thClass} columns={['When', showRule && 'Rule', 'State', 'Value']} />
      <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
        {props.events.map((event) => (
          <tr>
            <td class="py-2 pr-3 whitespace-nowrap">{when(event.at)}</td>
            {showRule && (
              <td class="py-2 pr-3">
                <a href={`/projects/${props.projectId}/alerts/${event.rule_id}`} class={linkClass}>
                  {event.rule_name}
                </a>
              </td>
            )}
            <td class="py-2 pr-3">
              <StateBadge state={event.state} />{' '}
              {event.silenced && <span class="text-xs text-slate-500">silenced</span>}
            </td>
            <td class="py-2 pr-3 tabular-nums">{formatValue(event.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DeliveriesTable(props: { deliveries: AlertDelivery[]; projectId: string }) {
  if (props.deliveries.length === 0) return <Empty>No notifications sent yet.</Empty>;
  return (
    <table class="min-w-full text-sm" data-testid="delivery-log">
      <TableHeader
        cellClass={thClass}
        columns={['Queued', 'Rule', 'Event', 'Channel', 'Status', 'Attempts', 'Answer']}
      />
      <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
        {props.deliveries.map((delivery) => (
          <tr>
            <td class="py-2 pr-3 whitespace-nowrap">{when(delivery.created_at)}</td>
            <td class="py-2 pr-3">
              <a href={`/projects/${props.projectId}/alerts/${delivery.rule_id}`} class={linkClass}>
                {delivery.rule_name}
              </a>
            </td>
            <td class="py-2 pr-3">{delivery.event_state}</td>
            <td class="py-2 pr-3">
              <a
                href={`/projects/${props.projectId}/alert-channels/${delivery.channel_id}`}
                class={linkClass}
              >
                {delivery.channel_name}
              </a>
            </td>
            <td class="py-2 pr-3">
              <StateBadge state={delivery.status} />
              {delivery.status === 'pending' && delivery.attempts > 0 && (
                <div class="text-xs text-slate-500">retry at {when(delivery.next_attempt_at)}</div>
              )}
            </td>
            <td class="py-2 pr-3 tabular-nums">{delivery.attempts}</td>
            <td class="py-2 pr-3 text-xs text-slate-600 dark:text-slate-300">
              {delivery.response_status ? `HTTP ${delivery.response_status}` : ''} {delivery.last_error ?? ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ChannelsCard(props: { view: AlertsView }) {
  const { view } = props;
  const base = `/projects/${view.project.project_id}`;
  const form = view.channelForm;
  return (
    <Card title="Notification channels">
      {view.createdSecret && (
        <div
          role="status"
          class="mb-4 rounded-md border border-emerald-300 bg-emerald-50 p-3 text-sm dark:border-emerald-900 dark:bg-emerald-950"
        >
          <p class="font-medium">
            Webhook "{view.createdSecret.channel.name}" created. Its signing secret is shown this once; keep
            it where the receiver can verify signatures:
          </p>
          <code
            data-testid="signing-secret"
            class="mt-2 block break-all rounded bg-white px-2 py-1 dark:bg-slate-900"
          >
            {view.createdSecret.signing_secret}
          </code>
          <p class="mt-2 text-xs">
            Each request carries{' '}
            <code>X-Ktrlplane-Signature: t=&lt;unix time&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</code>.
          </p>
        </div>
      )}
      {view.channels.length === 0 ? (
        <div class="mb-4">
          <Empty>No channels yet: rules change state but tell nobody.</Empty>
        </div>
      ) : (
        <ul class="mb-4 divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="alert-channels">
          {view.channels.map((channel) => (
            <li class="flex items-center justify-between gap-3 py-2">
              <div>
                <a href={`${base}/alert-channels/${channel.channel_id}`} class={linkClass}>
                  {channel.name}
                </a>
                <div class="text-xs text-slate-500">
                  {channelKindLabels[channel.kind]}
                  {channel.target ? ` · ${channel.target}` : ''}
                </div>
              </div>
              {view.canWrite && (
                <button
                  type="button"
                  class={smallButton}
                  hx-delete={`${base}/alert-channels/${channel.channel_id}`}
                  hx-confirm={`Delete the channel "${channel.name}"? Rules stop notifying it.`}
                >
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {view.canWrite && (
        <form
          method="post"
          action={`${base}/alert-channels`}
          class="grid gap-3 sm:grid-cols-3"
          id="channel-form"
        >
          <div class="sm:col-span-3">
            <FormAlert message={form?.alert} />
          </div>
          <TextField label="Name" name="name" value={form?.values.name} errors={form?.errors} required />
          <SelectField
            label="Kind"
            name="kind"
            value={form?.values.kind ?? 'webhook'}
            errors={form?.errors}
            options={CHANNEL_KINDS.map((kind) => ({ value: kind, label: channelKindLabels[kind] }))}
          />
          <TextField
            label="Target"
            name="target"
            value={form?.values.target}
            errors={form?.errors}
            help="Email address, webhook URL or Alertmanager base URL; empty for in-app."
          />
          <div class="sm:col-span-3">
            <Button variant="secondary">Add channel</Button>
          </div>
        </form>
      )}
    </Card>
  );
}

function SilencesCard(props: { view: AlertsView }) {
  const { view } = props;
  const base = `/projects/${view.project.project_id}`;
  const ruleName = (id: string | null) =>
    id ? (view.rules.find((rule) => rule.rule_id === id)?.name ?? id) : 'every rule';
  return (
    <Card title="Silences">
      {view.silences.length === 0 ? (
        <div class="mb-4">
          <Empty>No active silences.</Empty>
        </div>
      ) : (
        <ul class="mb-4 divide-y divide-slate-100 text-sm dark:divide-slate-800" data-testid="alert-silences">
          {view.silences.map((silence) => (
            <li class="flex items-center justify-between gap-3 py-2">
              <div>
                <span class="font-medium">{ruleName(silence.rule_id)}</span>: {silence.comment}
                <div class="text-xs text-slate-500">until {when(silence.ends_at)}</div>
              </div>
              {view.canWrite && (
                <button
                  type="button"
                  class={smallButton}
                  hx-delete={`${base}/alert-silences/${silence.silence_id}`}
                >
                  End now
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {view.canWrite && (
        <form method="post" action={`${base}/alert-silences`} class="grid gap-3 sm:grid-cols-3">
          <SelectField
            label="Rule"
            name="rule_id"
            value={view.silenceForm?.values.rule_id ?? ''}
            options={[
              { value: '', label: 'Every rule of the project' },
              ...view.rules.map((rule) => ({ value: rule.rule_id, label: rule.name })),
            ]}
          />
          <TextField
            label="Why"
            name="comment"
            value={view.silenceForm?.values.comment}
            errors={view.silenceForm?.errors}
            required
          />
          <TextField
            label="For (minutes)"
            name="duration_minutes"
            type="number"
            value={view.silenceForm?.values.duration_minutes ?? '60'}
            errors={view.silenceForm?.errors}
          />
          <div class="sm:col-span-3">
            <Button variant="secondary">Silence</Button>
          </div>
        </form>
      )}
    </Card>
  );
}

export function AlertsPage(view: AlertsView) {
  const base = `/projects/${view.project.project_id}`;
  return (
    <div>
      <PageHeader
        title="Alerts"
        eyebrow={
          <a href={base} class="hover:underline">
            {view.project.name}
          </a>
        }
        subtitle="Rules are evaluated every 30 seconds: pending while the condition holds, firing once it has held for its duration, resolved when it stops."
        actions={
          view.canWrite ? (
            <a
              href={`${base}/alerts/new`}
              class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white hover:bg-indigo-500"
            >
              New rule
            </a>
          ) : undefined
        }
      />
      {projectTabs(view.project.project_id, 'alerts', view.project.permissions)}
      <div class="space-y-6">
        <Card title="Rules">
          <RulesTable rules={view.rules} projectId={view.project.project_id} />
        </Card>
        <div class="grid gap-6 lg:grid-cols-2">
          <ChannelsCard view={view} />
          <SilencesCard view={view} />
        </div>
        <Card title="History">
          <EventsTable events={view.events} projectId={view.project.project_id} />
        </Card>
      </div>
    </div>
  );
}

export interface RuleFormView {
  project: ProjectHeading;
  channels: AlertChannel[];
  resources: Array<{ resource_id: string; name: string }>;
  usageMetrics: Array<{ name: string; description: string }>;
  values: Record<string, string>;
  channelIds: string[];
  errors?: FieldErrors;
  alert?: string;
  /** Set when editing. */
  rule?: AlertRule;
  prometheus: boolean;
}

/** The rule form; changing its kind re-renders it (GET …/alerts/new with the values typed so far). */
export function RuleFormPage(view: RuleFormView) {
  const base = `/projects/${view.project.project_id}`;
  const kind = (view.values.kind as (typeof ALERT_KINDS)[number]) || 'metric';
  const action = view.rule ? `${base}/alerts/${view.rule.rule_id}` : `${base}/alerts`;
  const resourceOptions = [
    { value: '', label: kind === 'status' ? 'Any resource of the project' : 'Every resource of the project' },
    ...view.resources.map((resource) => ({ value: resource.resource_id, label: resource.name })),
  ];
  return (
    <div id="rule-form-page">
      <PageHeader
        title={view.rule ? `Edit ${view.rule.name}` : 'New alert rule'}
        eyebrow={
          <a href={`${base}/alerts`} class="hover:underline">
            {view.project.name} / Alerts
          </a>
        }
      />
      <div class="grid gap-6 lg:grid-cols-3">
        <form id="rule-form" method="post" action={action} class="space-y-4 lg:col-span-2">
          <FormAlert message={view.alert} />
          <Card title="Condition">
            <div class="grid gap-4 sm:grid-cols-2">
              <TextField label="Name" name="name" value={view.values.name} errors={view.errors} required />
              <div>
                <SelectField
                  label="Kind"
                  name="kind"
                  value={kind}
                  errors={view.errors}
                  options={ALERT_KINDS.map((value) => ({ value, label: kindLabels[value] }))}
                />
                <span
                  hidden
                  hx-get={view.rule ? `${base}/alerts/${view.rule.rule_id}/edit` : `${base}/alerts/new`}
                  hx-trigger="change from:#field-kind"
                  hx-include="#rule-form"
                  hx-target="#rule-form-page"
                  hx-select="#rule-form-page"
                  hx-swap="outerHTML"
                />
              </div>
              {kind === 'metric' && (
                <SelectField
                  label="Metric"
                  name="metric"
                  value={view.values.metric}
                  errors={view.errors}
                  options={Object.entries(CONTROL_PLANE_METRICS).map(([value, metric]) => ({
                    value,
                    label: `${metric.label} (${metric.unit})`,
                  }))}
                />
              )}
              {kind === 'promql' && (
                <div class="sm:col-span-2">
                  <TextField
                    label="PromQL"
                    name="query"
                    value={view.values.query}
                    errors={view.errors}
                    placeholder="rate(http_requests_total{code=~&quot;5..&quot;}[5m])"
                    help={
                      view.prometheus
                        ? 'ktrlplane adds project_id (and resource_id) matchers to every selector; the highest series is compared.'
                        : 'No metrics backend is connected (PROMETHEUS_URL is not set), so PromQL rules cannot be saved.'
                    }
                  />
                </div>
              )}
              {kind === 'log' && (
                <TextField
                  label="Log query"
                  name="log_query"
                  value={view.values.log_query ?? 'level:error'}
                  errors={view.errors}
                  help="Lines matching it are counted over the window, e.g. level:error."
                />
              )}
              {kind === 'status' && (
                <TextField
                  label="Status"
                  name="status"
                  value={view.values.status ?? 'Degraded'}
                  errors={view.errors}
                  help="Counts resources that have had this status for longer than the window."
                />
              )}
              {kind === 'usage' && (
                <SelectField
                  label="Usage metric"
                  name="usage_metric"
                  value={view.values.usage_metric}
                  errors={view.errors}
                  options={view.usageMetrics.map((metric) => ({
                    value: metric.name,
                    label: `${metric.name}: ${metric.description}`,
                  }))}
                />
              )}
              {(kind === 'promql' || kind === 'log' || kind === 'status') && (
                <SelectField
                  label="Resource"
                  name="resource_id"
                  value={view.values.resource_id ?? ''}
                  errors={view.errors}
                  options={resourceOptions}
                />
              )}
              <SelectField
                label="Comparison"
                name="comparator"
                value={view.values.comparator ?? '>'}
                errors={view.errors}
                options={ALERT_COMPARATORS.map((value) => ({ value, label: value }))}
              />
              <TextField
                label="Threshold"
                name="threshold"
                type="number"
                value={view.values.threshold ?? '0'}
                errors={view.errors}
                required
              />
              <TextField
                label={kind === 'status' ? 'Longer than (minutes)' : 'Window (minutes)'}
                name="window_minutes"
                type="number"
                value={view.values.window_minutes ?? '5'}
                errors={view.errors}
              />
              <TextField
                label="For (minutes)"
                name="for_minutes"
                type="number"
                value={view.values.for_minutes ?? '0'}
                errors={view.errors}
                help="How long the condition must hold before the rule fires; 0 fires at once."
              />
            </div>
          </Card>
          <Card title="Notification">
            <div class="grid gap-4 sm:grid-cols-2">
              <SelectField
                label="Severity"
                name="severity"
                value={view.values.severity ?? 'warning'}
                errors={view.errors}
                options={ALERT_SEVERITIES.map((value) => ({ value, label: value }))}
              />
              <TextField
                label="Runbook link"
                name="runbook_url"
                value={view.values.runbook_url}
                errors={view.errors}
                placeholder="https://…"
              />
              <div class="sm:col-span-2">
                <TextField
                  label="Labels"
                  name="labels"
                  value={view.values.labels}
                  errors={view.errors}
                  placeholder="team=payments, tier=1"
                />
              </div>
              <div class="sm:col-span-2">
                <input type="hidden" name="enabled" value="false" />
                <label class="flex items-center gap-2 text-sm font-medium text-slate-700 dark:text-slate-200">
                  <input
                    type="checkbox"
                    name="enabled"
                    value="true"
                    checked={view.values.enabled !== 'false'}
                  />
                  Enabled: evaluate this rule every 30 seconds
                </label>
              </div>
              <fieldset class="sm:col-span-2">
                <legend class="text-sm font-medium text-slate-700 dark:text-slate-200">Channels</legend>
                {view.channels.length === 0 ? (
                  <p class="mt-1 text-sm text-slate-500">
                    No channels yet; add them on the{' '}
                    <a href={`${base}/alerts`} class={linkClass}>
                      alerts page
                    </a>
                    .
                  </p>
                ) : (
                  <div class="mt-2 flex flex-wrap gap-4">
                    {view.channels.map((channel) => (
                      <label class="flex items-center gap-2 text-sm">
                        <input
                          type="checkbox"
                          name="channel_ids"
                          value={channel.channel_id}
                          checked={view.channelIds.includes(channel.channel_id)}
                        />
                        {channel.name}{' '}
                        <span class="text-xs text-slate-500">({channelKindLabels[channel.kind]})</span>
                      </label>
                    ))}
                  </div>
                )}
                {view.errors?.channel_ids && (
                  <p class="mt-1 text-sm text-rose-600">{view.errors.channel_ids}</p>
                )}
              </fieldset>
            </div>
          </Card>
          <div class="flex gap-2">
            <Button>{view.rule ? 'Save rule' : 'Create rule'}</Button>
            <a
              href={`${base}/alerts`}
              class="rounded-md px-3 py-2 text-sm font-semibold text-slate-700 dark:text-slate-200"
            >
              Cancel
            </a>
          </div>
        </form>
        <aside>
          <Card title="Last 24 hours">
            <div
              id="rule-preview"
              aria-live="polite"
              hx-post={`${base}/alerts/preview`}
              hx-trigger="load, change from:#rule-form delay:300ms, input from:#rule-form delay:800ms"
              hx-include="#rule-form"
              hx-swap="innerHTML"
            >
              <p class="text-sm text-slate-500">Working out how often this rule would have fired…</p>
            </div>
          </Card>
        </aside>
      </div>
    </div>
  );
}

/** The preview fragment: how often the rule would have fired over the last 24 hours. */
export function RulePreviewFragment(preview: RulePreview & { problems?: string[] }) {
  if (preview.problems?.length) {
    return (
      <div data-testid="rule-preview" class="space-y-1 text-sm text-slate-600 dark:text-slate-300">
        <p>Complete the rule to see a preview:</p>
        <ul class="list-disc pl-5 text-rose-600">
          {preview.problems.map((problem) => (
            <li>{problem}</li>
          ))}
        </ul>
      </div>
    );
  }
  if (preview.error) {
    return (
      <p data-testid="rule-preview" class="text-sm text-rose-600">
        No preview: {preview.error}
      </p>
    );
  }
  return (
    <div data-testid="rule-preview" class="space-y-2 text-sm">
      <p class="text-2xl font-semibold tabular-nums" data-testid="preview-firings">
        {preview.firings === 1 ? 'Would have fired 1 time' : `Would have fired ${preview.firings} times`}
      </p>
      <p class="text-slate-600 dark:text-slate-300">
        {preview.firing_minutes} minutes firing over {preview.evaluations} evaluations (one a minute).{' '}
        {preview.had_data
          ? `Highest value: ${formatValue(preview.max_value)}.`
          : 'There was no data for this rule in the last 24 hours.'}
      </p>
      {preview.fired_at.length > 0 && (
        <ul class="text-xs text-slate-500">
          {preview.fired_at.slice(0, 5).map((at) => (
            <li>fired at {when(at)}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export interface RuleView {
  project: ProjectHeading;
  rule: AlertRule;
  events: AlertEvent[];
  deliveries: AlertDelivery[];
  channels: AlertChannel[];
  canWrite: boolean;
}

export function RulePage(view: RuleView) {
  const base = `/projects/${view.project.project_id}`;
  const rule = view.rule;
  const channelNames = view.channels
    .filter((channel) => rule.channel_ids.includes(channel.channel_id))
    .map((channel) => channel.name);
  return (
    <div>
      <PageHeader
        title={rule.name}
        eyebrow={
          <a href={`${base}/alerts`} class="hover:underline">
            {view.project.name} / Alerts
          </a>
        }
        subtitle={describeCondition(rule)}
        actions={
          view.canWrite ? (
            <>
              <a
                href={`${base}/alerts/${rule.rule_id}/edit`}
                class="rounded-md bg-white px-3 py-2 text-sm font-semibold ring-1 ring-inset ring-slate-300 dark:bg-slate-800 dark:ring-slate-700"
              >
                Edit
              </a>
              <button
                type="button"
                class="rounded-md bg-rose-600 px-3 py-2 text-sm font-semibold text-white hover:bg-rose-500"
                hx-delete={`${base}/alerts/${rule.rule_id}`}
                hx-confirm={`Delete the rule "${rule.name}" and its history?`}
              >
                Delete
              </button>
            </>
          ) : undefined
        }
      />
      <div class="space-y-6">
        <Card title="Now">
          <dl class="grid grid-cols-3 gap-y-2 text-sm">
            <dt class="text-slate-500">State</dt>
            <dd class="col-span-2">
              <StateBadge state={rule.enabled ? rule.state : 'disabled'} testId="rule-state" /> since{' '}
              {when(rule.state_since)}
            </dd>
            <dt class="text-slate-500">Last value</dt>
            <dd class="col-span-2 tabular-nums">
              {formatValue(rule.last_value)} (evaluated {when(rule.last_evaluated_at)})
              {rule.last_error && <span class="block text-rose-600">{rule.last_error}</span>}
            </dd>
            <dt class="text-slate-500">Severity</dt>
            <dd class="col-span-2">{rule.severity}</dd>
            <dt class="text-slate-500">Labels</dt>
            <dd class="col-span-2">
              {Object.entries(rule.labels)
                .map(([key, value]) => `${key}=${value}`)
                .join(', ') || '—'}
            </dd>
            <dt class="text-slate-500">Runbook</dt>
            <dd class="col-span-2">
              {rule.runbook_url ? (
                <a href={rule.runbook_url} class={linkClass} rel="noopener noreferrer">
                  {rule.runbook_url}
                </a>
              ) : (
                '—'
              )}
            </dd>
            <dt class="text-slate-500">Channels</dt>
            <dd class="col-span-2">{channelNames.join(', ') || 'none'}</dd>
          </dl>
        </Card>
        <Card title="History">
          <EventsTable events={view.events} projectId={view.project.project_id} showRule={false} />
        </Card>
        <Card title="Notifications">
          <DeliveriesTable deliveries={view.deliveries} projectId={view.project.project_id} />
        </Card>
      </div>
    </div>
  );
}

export interface ChannelView {
  project: ProjectHeading;
  channel: AlertChannel;
  deliveries: AlertDelivery[];
}

export function ChannelPage(view: ChannelView) {
  const base = `/projects/${view.project.project_id}`;
  return (
    <div>
      <PageHeader
        title={view.channel.name}
        eyebrow={
          <a href={`${base}/alerts`} class="hover:underline">
            {view.project.name} / Alerts
          </a>
        }
        subtitle={`${channelKindLabels[view.channel.kind]}${view.channel.target ? ` · ${view.channel.target}` : ''}`}
      />
      <Card title="Delivery log">
        <DeliveriesTable deliveries={view.deliveries} projectId={view.project.project_id} />
      </Card>
    </div>
  );
}
