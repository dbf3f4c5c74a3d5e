import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import {
  type AlertRule,
  type AlertRuleValues,
  alertRuleNameTaken,
  insertAlertRule,
  listAlertChannels,
  updateAlertRule,
} from '../../db/alerts.repository.ts';
import { listResourcesInProject } from '../../db/resources.repository.ts';
import type { Database } from '../../db/types.ts';
import { AppError, conflict, type FieldError, unprocessable } from '../../lib/errors.ts';
import type { AlertRuleInput } from '../../schemas/alerts.ts';
import { usageMetric } from '../../schemas/usage-metrics.ts';
import { LogQuerySyntaxError, parseLogQuery } from '../logs/query.ts';
import { PrometheusError, prometheusConfigured } from '../metrics/prometheus.ts';
import { PromqlScopeError, scopePromql } from '../metrics/promql-scope.ts';
import type { AuthorizedScope } from '../rbac.ts';
import { type PreviewResult, simulate } from './state.ts';
import { ruleValues } from './values.ts';

/**
 * Writing alert rules and previewing them. Tenancy: every read and write is confined to the
 * project scope the route authorized; channels and resources a rule names must be the project's
 * own (anything else is a 422 on that field, never a hint that it exists elsewhere).
 */
type Scope = AuthorizedScope<'project'>;

/** Turns validated input into the row's columns (kind-specific fields go to `params`). */
export function ruleValuesFromInput(input: AlertRuleInput): AlertRuleValues {
  const params: Record<string, string> = {};
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined) params[key] = value;
  };
  switch (input.kind) {
    case 'metric':
      set('metric', input.metric);
      break;
    case 'promql':
      set('query', input.query);
      set('resource_id', input.resource_id);
      break;
    case 'log':
      set('query', input.log_query);
      set('resource_id', input.resource_id);
      break;
    case 'status':
      set('status', input.status ?? 'Degraded');
      set('resource_id', input.resource_id);
      break;
    case 'usage':
      set('metric', input.usage_metric);
      break;
  }
  return {
    name: input.name,
    kind: input.kind,
    params,
    comparator: input.comparator,
    threshold: input.threshold,
    window_seconds: input.window_minutes * 60,
    for_seconds: input.for_minutes * 60,
    severity: input.severity,
    labels: input.labels,
    runbook_url: input.runbook_url ?? null,
    channel_ids: [...new Set(input.channel_ids)],
    enabled: input.enabled,
  };
}

/** The form's fields of a stored rule (the edit form and the JSON representation share them). */
export function inputOfRule(rule: AlertRule): Record<string, string> {
  const params = rule.params as Record<string, string>;
  return {
    name: rule.name,
    kind: rule.kind,
    metric: rule.kind === 'metric' ? (params.metric ?? '') : '',
    usage_metric: rule.kind === 'usage' ? (params.metric ?? '') : '',
    query: rule.kind === 'promql' ? (params.query ?? '') : '',
    log_query: rule.kind === 'log' ? (params.query ?? '') : '',
    status: rule.kind === 'status' ? (params.status ?? '') : '',
    resource_id: params.resource_id ?? '',
    comparator: rule.comparator,
    threshold: String(rule.threshold),
    window_minutes: String(rule.window_seconds / 60),
    for_minutes: String(rule.for_seconds / 60),
    severity: rule.severity,
    labels: Object.entries(rule.labels)
      .map(([key, value]) => `${key}=${value}`)
      .join(', '),
    runbook_url: rule.runbook_url ?? '',
    enabled: String(rule.enabled),
  };
}

/**
 * Checks what the schema cannot: the channels and the resource are this project's, the PromQL
 * parses and stays inside the project, a metrics backend exists for a PromQL rule. Throws a 422
 * listing every failing field.
 */
export async function checkRuleReferences(
  db: Kysely<Database>,
  scope: Scope,
  config: Config,
  values: AlertRuleValues,
): Promise<void> {
  const errors: FieldError[] = [];
  const params = values.params as Record<string, string | undefined>;
  if (values.channel_ids.length > 0) {
    const known = new Set((await listAlertChannels(db, scope)).map((channel) => channel.channel_id));
    const unknown = values.channel_ids.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      errors.push({ pointer: '/channel_ids', message: `no channel ${unknown.join(', ')} in this project` });
    }
  }
  if (params.resource_id) {
    const resources = await listResourcesInProject(db, scope);
    if (!resources.some((resource) => resource.resource_id === params.resource_id)) {
      errors.push({
        pointer: '/resource_id',
        message: `no resource "${params.resource_id}" in this project`,
      });
    }
  }
  if (values.kind === 'promql') {
    if (!prometheusConfigured(config)) {
      errors.push({ pointer: '/query', message: 'PromQL rules need a metrics backend: set PROMETHEUS_URL' });
    } else {
      try {
        scopePromql(params.query ?? '', { project_id: scope.id });
      } catch (error) {
        if (!(error instanceof PromqlScopeError)) throw error;
        errors.push({ pointer: '/query', message: `${error.message} (at character ${error.position + 1})` });
      }
    }
  }
  if (values.kind === 'log') {
    try {
      parseLogQuery(params.query ?? '');
    } catch (error) {
      if (!(error instanceof LogQuerySyntaxError)) throw error;
      errors.push({ pointer: '/log_query', message: error.errors[0]?.message ?? error.detail });
    }
  }
  if (values.kind === 'usage' && !usageMetric(params.metric ?? '')) {
    errors.push({ pointer: '/usage_metric', message: `no usage metric "${params.metric}"` });
  }
  if (errors.length > 0) throw unprocessable(errors);
}

export async function createAlertRule(
  db: Kysely<Database>,
  scope: Scope,
  config: Config,
  input: AlertRuleInput,
  createdBy: string | null,
  now: Date,
): Promise<AlertRule> {
  const values = ruleValuesFromInput(input);
  await checkRuleReferences(db, scope, config, values);
  if (await alertRuleNameTaken(db, scope, values.name)) {
    throw new AppError(
      409,
      'Conflict',
      `A rule named "${values.name}" exists in this project; choose another name.`,
      [{ pointer: '/name', message: 'a rule of this project already has this name' }],
    );
  }
  return insertAlertRule(db, scope, values, createdBy, now);
}

export async function changeAlertRule(
  db: Kysely<Database>,
  scope: Scope,
  config: Config,
  ruleId: string,
  input: AlertRuleInput,
  now: Date,
): Promise<AlertRule> {
  const values = ruleValuesFromInput(input);
  await checkRuleReferences(db, scope, config, values);
  if (await alertRuleNameTaken(db, scope, values.name, ruleId)) {
    throw conflict(`A rule named "${values.name}" exists in this project; choose another name.`);
  }
  return updateAlertRule(db, scope, ruleId, values, now);
}

export const PREVIEW_HOURS = 24;
const PREVIEW_STEP_SECONDS = 60;

/** Minute instants of the last 24 hours, ending at the last whole minute. */
export function previewTimes(now: Date): Date[] {
  const stepMs = PREVIEW_STEP_SECONDS * 1000;
  const end = Math.floor(now.getTime() / stepMs) * stepMs;
  const count = (PREVIEW_HOURS * 3600) / PREVIEW_STEP_SECONDS;
  return Array.from({ length: count }, (_, index) => new Date(end - (count - 1 - index) * stepMs));
}

export type RulePreview = PreviewResult & { from: Date; to: Date; error: string | null };

/**
 * How often the rule would have fired over the last 24 hours on the data ktrlplane has: the rule's
 * value every minute, replayed through the same state machine the evaluation job runs. A backend
 * failure is reported in `error` (the form shows it) rather than failing the request.
 */
export async function previewAlertRule(
  db: Kysely<Database>,
  scope: Scope,
  config: Config,
  input: AlertRuleInput,
  now: Date,
): Promise<RulePreview> {
  const values = ruleValuesFromInput(input);
  await checkRuleReferences(db, scope, config, { ...values, channel_ids: [] });
  const times = previewTimes(now);
  const range = { from: times[0] as Date, to: times.at(-1) as Date };
  try {
    const series = await ruleValues({ db, config, scope, now }, values, times);
    return { ...simulate(series, times, values), ...range, error: null };
  } catch (error) {
    if (!(error instanceof PrometheusError)) throw error;
    return { ...simulate([], [], values), ...range, error: error.message };
  }
}
