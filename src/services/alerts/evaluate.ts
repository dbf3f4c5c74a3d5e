import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Config } from '../../config.ts';
import {
  type AlertEvent,
  type AlertRule,
  channelsOfRule,
  insertAlertDelivery,
  insertAlertEvent,
  isRuleSilenced,
  lastDeliveryTo,
  latestFiringEvent,
  recordRuleEvaluation,
  rulesToEvaluate,
} from '../../db/alerts.repository.ts';
import { enqueueMail } from '../../db/mail-outbox.repository.ts';
import type { AlertChannelsTable, Database } from '../../db/types.ts';
import { AppError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { takeMailAllowance } from '../mail-allowance.ts';
import { PrometheusError } from '../metrics/prometheus.ts';
import { PromqlScopeError } from '../metrics/promql-scope.ts';
import { notify } from '../notifications.ts';
import { projectScopeForJob } from '../rbac.ts';
import { conditionHolds, nextState } from './state.ts';
import { ruleValues } from './values.ts';

/**
 * The evaluation behind the evaluate-alerts job. `measureRules` reads each enabled rule's value
 * now (database reads and PromQL, outside the job's transaction); `applyMeasurements` then moves
 * each rule's state inside the transaction, records the history and queues notifications:
 * in-app and email at once (the mail outbox sends), webhook and Alertmanager through
 * alert_deliveries, which the deliver-alert-notifications job sends with retries. Idempotent: a
 * second run with the same values changes nothing, because transitions depend on the stored state.
 */
export const RULES_PER_RUN = 500;
/** Alertmanager forgets an alert it has not heard of for resolve_timeout (5 min by default). */
export const ALERTMANAGER_RESEND_SECONDS = 120;

export interface Measurement {
  rule_id: string;
  value: number | null;
  error: string | null;
}

export async function measureRules(
  db: Kysely<Database>,
  config: Config,
  now: Date,
  log: Logger,
): Promise<Measurement[]> {
  const rules = await rulesToEvaluate(db, RULES_PER_RUN);
  const measurements: Measurement[] = [];
  for (const rule of rules) {
    const scope = projectScopeForJob(rule.org_id, rule.project_id);
    try {
      const [value] = await ruleValues({ db, config, scope, now }, rule, [now]);
      measurements.push({ rule_id: rule.rule_id, value: value ?? null, error: null });
    } catch (error) {
      // A rule that cannot be measured (backend down, a log module missing) keeps its state.
      const known =
        error instanceof PrometheusError || error instanceof PromqlScopeError || error instanceof AppError;
      if (!known) log.error('alert rule evaluation failed', { rule_id: rule.rule_id, err: error });
      measurements.push({
        rule_id: rule.rule_id,
        value: null,
        error:
          error instanceof AppError ? error.detail : error instanceof Error ? error.message : String(error),
      });
    }
  }
  return measurements;
}

export async function applyMeasurements(
  trx: Transaction<Database>,
  measurements: Measurement[],
  config: Config,
  now: Date,
): Promise<{ evaluated: number; firing: number; resolved: number }> {
  const byRule = new Map(measurements.map((m) => [m.rule_id, m]));
  const rules = await rulesToEvaluate(trx, RULES_PER_RUN, [...byRule.keys()]);
  let firing = 0;
  let resolved = 0;
  for (const rule of rules) {
    const measurement = byRule.get(rule.rule_id);
    if (!measurement) continue;
    if (measurement.error) {
      await recordRuleEvaluation(trx, rule.rule_id, { value: null, error: measurement.error, now });
      continue;
    }
    const holds = conditionHolds(measurement.value, rule.comparator, rule.threshold);
    const { state, transition } = nextState(
      { state: rule.state, since: rule.state_since },
      holds,
      now,
      rule.for_seconds,
    );
    await recordRuleEvaluation(trx, rule.rule_id, {
      value: measurement.value,
      error: null,
      now,
      ...(transition ? { state: state.state, stateSince: state.since } : {}),
    });
    if (transition === 'pending' || transition === 'firing' || transition === 'resolved') {
      const silenced = transition !== 'pending' && (await isRuleSilenced(trx, rule, now));
      const event = await insertAlertEvent(trx, {
        rule_id: rule.rule_id,
        project_id: rule.project_id,
        state: transition,
        value: measurement.value,
        at: now,
        silenced,
      });
      if (transition === 'firing') firing++;
      if (transition === 'resolved') resolved++;
      if (transition !== 'pending' && !silenced) await notifyChannels(trx, rule, event, config, now);
    } else if (!transition && rule.state === 'firing') {
      await resendToAlertmanager(trx, rule, now);
    }
  }
  return { evaluated: rules.length, firing, resolved };
}

/** Queues one notification per channel of the rule for a firing or resolved event. */
async function notifyChannels(
  trx: Transaction<Database>,
  rule: AlertRule & { org_id: string },
  event: AlertEvent,
  config: Config,
  now: Date,
): Promise<void> {
  for (const channel of await channelsOfRule(trx, rule)) {
    const base = {
      event_id: event.event_id,
      channel_id: channel.channel_id,
      project_id: rule.project_id,
      created_at: now,
    };
    if (channel.kind === 'webhook' || channel.kind === 'alertmanager') {
      await insertAlertDelivery(trx, { ...base, status: 'pending', next_attempt_at: now });
      continue;
    }
    const message = alertMessage(rule, event, config);
    if (channel.kind === 'email' && channel.target) {
      const scope = { orgId: rule.org_id, projectId: rule.project_id, resourceId: null };
      const allowance = await takeMailAllowance(trx, scope, config.MAILS_PER_PROJECT_PER_HOUR, now);
      if (!allowance.allowed) {
        // Over the project's hourly mail allowance: recorded as failed on the channel, not mailed.
        await insertAlertDelivery(trx, {
          ...base,
          status: 'failed',
          next_attempt_at: now,
          attempts: 1,
          last_error: `not sent: this project has sent its ${config.MAILS_PER_PROJECT_PER_HOUR} emails for this hour`,
        });
        continue;
      }
      await enqueueMail(trx, { to: channel.target, subject: message.title, text: message.body }, now);
    } else if (channel.kind === 'in_app') {
      await notifyInApp(trx, rule, event, message, config);
    }
    // Handed to the mail outbox or the notifications table in this same transaction: delivered.
    await insertAlertDelivery(trx, {
      ...base,
      status: 'delivered',
      next_attempt_at: now,
      delivered_at: now,
      attempts: 1,
    });
  }
}

async function resendToAlertmanager(
  trx: Transaction<Database>,
  rule: AlertRule & { org_id: string },
  now: Date,
) {
  const channels = (await channelsOfRule(trx, rule)).filter((channel) => channel.kind === 'alertmanager');
  if (channels.length === 0) return;
  const event = await latestFiringEvent(trx, rule.rule_id);
  if (!event || event.silenced) return;
  for (const channel of channels) {
    const last = await lastDeliveryTo(trx, channel.channel_id, event.event_id);
    if (last && now.getTime() - last.getTime() < ALERTMANAGER_RESEND_SECONDS * 1000) continue;
    await insertAlertDelivery(trx, {
      event_id: event.event_id,
      channel_id: channel.channel_id,
      project_id: rule.project_id,
      created_at: now,
      status: 'pending',
      next_attempt_at: now,
    });
  }
}

export function ruleLink(config: Config, rule: Pick<AlertRule, 'project_id' | 'rule_id'>): string {
  return `${config.BASE_URL}/projects/${rule.project_id}/alerts/${rule.rule_id}`;
}

export function formatValue(value: number | null): string {
  if (value === null) return 'no data';
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

/** The title and text every human-facing channel (email, in-app) shows. */
export function alertMessage(
  rule: AlertRule,
  event: Pick<AlertEvent, 'state' | 'value' | 'at'>,
  config: Config,
): { title: string; body: string; link: string } {
  const state = event.state === 'resolved' ? 'RESOLVED' : 'FIRING';
  const link = ruleLink(config, rule);
  const lines = [
    `${rule.name} is ${event.state === 'resolved' ? 'resolved' : 'firing'} in project ${rule.project_id}.`,
    `Value: ${formatValue(event.value)} (condition: ${rule.comparator} ${rule.threshold} over ${rule.window_seconds / 60} min)`,
    `Severity: ${rule.severity}`,
    `At: ${event.at.toISOString()}`,
    ...Object.entries(rule.labels).map(([key, value]) => `Label ${key}: ${value}`),
    ...(rule.runbook_url ? [`Runbook: ${rule.runbook_url}`] : []),
    `Rule: ${link}`,
  ];
  return { title: `[${state}] ${rule.name} (${rule.severity})`, body: lines.join('\n'), link };
}

/** In-app: every member of the project (and its organization's admins) sees it under the bell. */
async function notifyInApp(
  trx: Transaction<Database>,
  rule: AlertRule & { org_id: string },
  event: AlertEvent,
  message: { title: string; body: string; link: string },
  config: Config,
): Promise<void> {
  await notify(trx, {
    orgId: rule.org_id,
    projectId: rule.project_id,
    audience: 'project-members',
    kind: `alert.${event.state}`,
    title: message.title,
    body: message.body,
    link: `/projects/${rule.project_id}/alerts/${rule.rule_id}`,
    dedupeKey: `alert-event:${event.event_id}`,
    now: event.at,
    baseUrl: config.BASE_URL,
    // Email is a channel of its own; the in-app channel stays in the app.
    email: false,
  });
}

export type ChannelRow = Selectable<AlertChannelsTable>;
