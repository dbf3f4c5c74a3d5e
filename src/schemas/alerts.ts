import { z } from 'zod';

/**
 * Inputs of the alerts API (rules, channels, silences). One schema per write; the browser form and
 * JSON clients go through the same one. Form fields are flat (`metric`, `query`, `log_query`,
 * `status`, `usage_metric`, `resource_id`), and the rule's kind says which of them it needs.
 */

export const ALERT_KINDS = ['metric', 'promql', 'log', 'status', 'usage'] as const;
export const ALERT_COMPARATORS = ['>', '>=', '<', '<='] as const;
export const ALERT_SEVERITIES = ['critical', 'warning', 'info'] as const;
export const CHANNEL_KINDS = ['in_app', 'email', 'webhook', 'alertmanager'] as const;

/** Control-plane metrics a rule of kind `metric` can watch (computed from ktrlplane's own tables). */
export const CONTROL_PLANE_METRICS = {
  api_requests: { label: 'API requests in the window', unit: 'requests' },
  api_error_rate: { label: 'API error rate (5xx share of requests)', unit: '%' },
  api_client_error_rate: { label: 'API client error rate (4xx share of requests)', unit: '%' },
  api_latency_p95: { label: 'API latency, 95th percentile', unit: 'ms' },
  resources_unhealthy: { label: 'Resources not healthy', unit: 'resources' },
  deployments_failed: { label: 'Transitions to a failed status in the window', unit: 'transitions' },
} as const;
export type ControlPlaneMetric = keyof typeof CONTROL_PLANE_METRICS;
const CONTROL_PLANE_METRIC_NAMES = Object.keys(CONTROL_PLANE_METRICS) as [
  ControlPlaneMetric,
  ...ControlPlaneMetric[],
];

const blank = (value: unknown) => (value === '' || value === null ? undefined : value);
const numberFromForm = (value: unknown) =>
  typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))
    ? Number(value)
    : blank(value);
const optionalText = (max: number, message: string) =>
  z.preprocess(
    blank,
    z.string({ error: message }).trim().min(1, message).max(max, `use at most ${max} characters`).optional(),
  );

/** `a=b, c=d` (the form's text field) or an object (JSON) → a label map with Prometheus-safe names. */
const labelsInput = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return blank(value);
    const labels: Record<string, string> = {};
    for (const pair of value.split(/[,\n]/)) {
      if (pair.trim() === '') continue;
      const [key, ...rest] = pair.split('=');
      labels[(key ?? '').trim()] = rest.join('=').trim();
    }
    return labels;
  },
  z
    .record(
      z
        .string()
        .regex(
          /^[a-zA-Z_][a-zA-Z0-9_]{0,62}$/,
          'label names are letters, digits and _, not starting with a digit',
        ),
      z.string().max(200, 'label values have at most 200 characters'),
    )
    .refine((labels) => Object.keys(labels).length <= 20, 'use at most 20 labels')
    .default({}),
);

/** A checkbox group posts one string or several; JSON sends an array. */
const idList = z.preprocess(
  (value) => (value === undefined || value === '' ? [] : Array.isArray(value) ? value : [value]),
  z.array(z.string().min(1).max(64)).max(20, 'choose at most 20 channels'),
);

export const alertRuleInput = z
  .object({
    name: z
      .string({ error: 'enter a name for the rule' })
      .trim()
      .min(1, 'enter a name for the rule')
      .max(100, 'use at most 100 characters'),
    kind: z.enum(ALERT_KINDS, { error: `choose one of ${ALERT_KINDS.join(', ')}` }),
    metric: z.preprocess(
      blank,
      z.enum(CONTROL_PLANE_METRIC_NAMES, { error: 'choose a control-plane metric' }).optional(),
    ),
    query: optionalText(2000, 'enter a PromQL query'),
    log_query: optionalText(500, 'enter a log query such as level:error'),
    status: optionalText(40, 'enter the status to watch, such as Degraded'),
    usage_metric: optionalText(100, 'choose a usage metric'),
    resource_id: optionalText(63, 'choose a resource'),
    comparator: z.preprocess(
      blank,
      z.enum(ALERT_COMPARATORS, { error: 'choose >, >=, < or <=' }).default('>'),
    ),
    threshold: z.preprocess(numberFromForm, z.number({ error: 'enter a number' }).finite()),
    window_minutes: z.preprocess(
      numberFromForm,
      z
        .number({ error: 'enter the window in whole minutes' })
        .int('enter the window in whole minutes')
        .min(1, 'the window is at least 1 minute')
        .max(1440, 'the window is at most 1440 minutes (24 hours)')
        .default(5),
    ),
    for_minutes: z.preprocess(
      numberFromForm,
      z
        .number({ error: 'enter whole minutes' })
        .int('enter whole minutes')
        .min(0, 'use 0 to fire at once')
        .max(1440, 'at most 1440 minutes (24 hours)')
        .default(0),
    ),
    severity: z.preprocess(
      blank,
      z.enum(ALERT_SEVERITIES, { error: 'choose critical, warning or info' }).default('warning'),
    ),
    labels: labelsInput,
    runbook_url: z.preprocess(
      blank,
      z
        .url({ protocol: /^https?$/, error: 'enter an http(s) URL' })
        .max(500)
        .optional(),
    ),
    channel_ids: idList,
    // The form sends a hidden "false" then the checkbox's "true" when ticked: the last one wins.
    enabled: z.preprocess((value) => {
      const last = Array.isArray(value) ? value.at(-1) : value;
      return last === undefined ? true : last === 'on' || last === 'true' || last === true;
    }, z.boolean()),
  })
  .superRefine((rule, ctx) => {
    const need = (field: keyof typeof rule, message: string) => {
      if (rule[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message });
    };
    if (rule.kind === 'metric') need('metric', 'choose a control-plane metric');
    if (rule.kind === 'promql') need('query', 'enter a PromQL query');
    if (rule.kind === 'log') need('log_query', 'enter a log query such as level:error');
    if (rule.kind === 'usage') need('usage_metric', 'choose a usage metric');
  });
export type AlertRuleInput = z.output<typeof alertRuleInput>;

export const alertChannelInput = z
  .object({
    name: z
      .string({ error: 'enter a name' })
      .trim()
      .min(1, 'enter a name')
      .max(100, 'use at most 100 characters'),
    kind: z.enum(CHANNEL_KINDS, { error: 'choose in-app, email, webhook or Alertmanager' }),
    target: optionalText(500, 'enter where notifications go'),
  })
  .superRefine((channel, ctx) => {
    const target = channel.target;
    if (channel.kind === 'email') {
      if (!target || !z.email().safeParse(target).success) {
        ctx.addIssue({ code: 'custom', path: ['target'], message: 'enter an email address' });
      }
    } else if (channel.kind === 'webhook' || channel.kind === 'alertmanager') {
      if (!target || !z.url({ protocol: /^https?$/ }).safeParse(target).success) {
        ctx.addIssue({
          code: 'custom',
          path: ['target'],
          message:
            channel.kind === 'webhook'
              ? 'enter the http(s) URL that receives the notifications'
              : "enter Alertmanager's base URL, such as http://alertmanager:9093",
        });
      }
    }
  });
export type AlertChannelInput = z.output<typeof alertChannelInput>;

export const alertSilenceInput = z.object({
  rule_id: z.preprocess(blank, z.string().min(1).max(64).optional()),
  comment: z
    .string({ error: 'say why notifications are silenced' })
    .trim()
    .min(1, 'say why notifications are silenced')
    .max(300, 'use at most 300 characters'),
  duration_minutes: z.preprocess(
    numberFromForm,
    z
      .number({ error: 'enter a duration in minutes' })
      .int('enter whole minutes')
      .min(1, 'at least 1 minute')
      .max(60 * 24 * 30, 'at most 30 days'),
  ),
});
export type AlertSilenceInput = z.output<typeof alertSilenceInput>;
