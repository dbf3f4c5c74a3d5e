import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { notFound } from '../lib/errors.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import type {
  AlertChannelsTable,
  AlertDeliveriesTable,
  AlertEventsTable,
  AlertRulesTable,
  AlertSilencesTable,
  AlertState,
  Database,
} from './types.ts';

/**
 * Alert rules, channels, their history, deliveries and silences of a project. Route-facing
 * functions take the project scope second, so every query is confined to the caller's project;
 * an id of another project answers 404. The job-facing ones (marked) read across projects and
 * are used only by the evaluation and delivery jobs.
 */
export type AlertRule = Selectable<AlertRulesTable>;
export type AlertChannel = Omit<Selectable<AlertChannelsTable>, 'signing_secret'>;
export type AlertEvent = Selectable<AlertEventsTable>;
export type AlertSilence = Selectable<AlertSilencesTable>;
export type AlertDelivery = Selectable<AlertDeliveriesTable> & {
  channel_name: string;
  channel_kind: AlertChannel['kind'];
  rule_id: string;
  rule_name: string;
  event_state: AlertEvent['state'];
};

type Scope = AuthorizedScope<'project'>;
/** What a rule write sets (the live state columns are the job's). */
export type AlertRuleValues = Pick<
  AlertRule,
  | 'name'
  | 'kind'
  | 'params'
  | 'comparator'
  | 'threshold'
  | 'window_seconds'
  | 'for_seconds'
  | 'severity'
  | 'labels'
  | 'runbook_url'
  | 'channel_ids'
  | 'enabled'
>;

function ruleColumns(values: AlertRuleValues) {
  return {
    ...values,
    params: JSON.stringify(values.params),
    labels: JSON.stringify(values.labels),
    channel_ids: JSON.stringify(values.channel_ids),
  };
}

const channelColumns = ['channel_id', 'project_id', 'name', 'kind', 'target', 'created_at'] as const;

export async function listAlertRules(db: Kysely<Database>, scope: Scope): Promise<AlertRule[]> {
  return db
    .selectFrom('ktrlplane.alert_rules')
    .selectAll()
    .where('project_id', '=', scope.id)
    .orderBy('name')
    .execute();
}

export async function getAlertRule(db: Kysely<Database>, scope: Scope, ruleId: string): Promise<AlertRule> {
  const rule = await db
    .selectFrom('ktrlplane.alert_rules')
    .selectAll()
    .where('project_id', '=', scope.id)
    .where('rule_id', '=', ruleId)
    .executeTakeFirst();
  if (!rule) throw notFound(`No alert rule "${ruleId.slice(0, 64)}" exists in this project.`);
  return rule;
}

export async function alertRuleNameTaken(
  db: Kysely<Database>,
  scope: Scope,
  name: string,
  exceptRuleId?: string,
): Promise<boolean> {
  let query = db
    .selectFrom('ktrlplane.alert_rules')
    .select('rule_id')
    .where('project_id', '=', scope.id)
    .where('name', '=', name);
  if (exceptRuleId) query = query.where('rule_id', '!=', exceptRuleId);
  return (await query.executeTakeFirst()) !== undefined;
}

export async function insertAlertRule(
  db: Kysely<Database>,
  scope: Scope,
  values: AlertRuleValues,
  createdBy: string | null,
  now: Date,
): Promise<AlertRule> {
  return db
    .insertInto('ktrlplane.alert_rules')
    .values({
      ...ruleColumns(values),
      project_id: scope.id,
      created_by: createdBy,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Changing a rule starts its evaluation afresh (its old state said something about the old rule). */
export async function updateAlertRule(
  db: Kysely<Database>,
  scope: Scope,
  ruleId: string,
  values: AlertRuleValues,
  now: Date,
): Promise<AlertRule> {
  const rule = await db
    .updateTable('ktrlplane.alert_rules')
    .set({ ...ruleColumns(values), updated_at: now, state: 'inactive', state_since: null, last_error: null })
    .where('project_id', '=', scope.id)
    .where('rule_id', '=', ruleId)
    .returningAll()
    .executeTakeFirst();
  if (!rule) throw notFound(`No alert rule "${ruleId.slice(0, 64)}" exists in this project.`);
  return rule;
}

export async function deleteAlertRule(db: Kysely<Database>, scope: Scope, ruleId: string): Promise<void> {
  const deleted = await db
    .deleteFrom('ktrlplane.alert_rules')
    .where('project_id', '=', scope.id)
    .where('rule_id', '=', ruleId)
    .executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0)
    throw notFound(`No alert rule "${ruleId.slice(0, 64)}" exists in this project.`);
}

export async function listAlertChannels(db: Kysely<Database>, scope: Scope): Promise<AlertChannel[]> {
  return db
    .selectFrom('ktrlplane.alert_channels')
    .select(channelColumns)
    .where('project_id', '=', scope.id)
    .orderBy('name')
    .execute();
}

export async function getAlertChannel(
  db: Kysely<Database>,
  scope: Scope,
  channelId: string,
): Promise<AlertChannel> {
  const channel = await db
    .selectFrom('ktrlplane.alert_channels')
    .select(channelColumns)
    .where('project_id', '=', scope.id)
    .where('channel_id', '=', channelId)
    .executeTakeFirst();
  if (!channel) throw notFound(`No notification channel "${channelId.slice(0, 64)}" exists in this project.`);
  return channel;
}

export async function alertChannelNameTaken(
  db: Kysely<Database>,
  scope: Scope,
  name: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('ktrlplane.alert_channels')
    .select('channel_id')
    .where('project_id', '=', scope.id)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertAlertChannel(
  db: Kysely<Database>,
  scope: Scope,
  values: Pick<AlertChannelsTable, 'name' | 'kind' | 'target' | 'signing_secret'>,
  now: Date,
): Promise<AlertChannel> {
  return db
    .insertInto('ktrlplane.alert_channels')
    .values({ ...values, project_id: scope.id, created_at: now })
    .returning(channelColumns)
    .executeTakeFirstOrThrow();
}

/** Deletes a channel and takes it off every rule of the project that named it. */
export async function deleteAlertChannel(
  db: Kysely<Database>,
  scope: Scope,
  channelId: string,
): Promise<void> {
  const deleted = await db
    .deleteFrom('ktrlplane.alert_channels')
    .where('project_id', '=', scope.id)
    .where('channel_id', '=', channelId)
    .executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0) {
    throw notFound(`No notification channel "${channelId.slice(0, 64)}" exists in this project.`);
  }
  await db
    .updateTable('ktrlplane.alert_rules')
    .set({ channel_ids: sql<string>`channel_ids - ${channelId}` as never })
    .where('project_id', '=', scope.id)
    .execute();
}

/** Recent state changes of a project's rules (or one rule), newest first. */
export async function listAlertEvents(
  db: Kysely<Database>,
  scope: Scope,
  options: { ruleId?: string; limit: number },
): Promise<Array<AlertEvent & { rule_name: string }>> {
  let query = db
    .selectFrom('ktrlplane.alert_events as e')
    .innerJoin('ktrlplane.alert_rules as r', 'r.rule_id', 'e.rule_id')
    .selectAll('e')
    .select('r.name as rule_name')
    .where('e.project_id', '=', scope.id);
  if (options.ruleId) query = query.where('e.rule_id', '=', options.ruleId);
  return query.orderBy('e.event_id', 'desc').limit(options.limit).execute();
}

/** The delivery log of a project: by channel or by rule, newest first. */
export async function listAlertDeliveries(
  db: Kysely<Database>,
  scope: Scope,
  options: { channelId?: string; ruleId?: string; limit: number },
): Promise<AlertDelivery[]> {
  let query = db
    .selectFrom('ktrlplane.alert_deliveries as d')
    .innerJoin('ktrlplane.alert_channels as c', 'c.channel_id', 'd.channel_id')
    .innerJoin('ktrlplane.alert_events as e', 'e.event_id', 'd.event_id')
    .innerJoin('ktrlplane.alert_rules as r', 'r.rule_id', 'e.rule_id')
    .selectAll('d')
    .select([
      'c.name as channel_name',
      'c.kind as channel_kind',
      'r.rule_id',
      'r.name as rule_name',
      'e.state as event_state',
    ])
    .where('d.project_id', '=', scope.id);
  if (options.channelId) query = query.where('d.channel_id', '=', options.channelId);
  if (options.ruleId) query = query.where('e.rule_id', '=', options.ruleId);
  return query.orderBy('d.created_at', 'desc').orderBy('d.delivery_id').limit(options.limit).execute();
}

export async function listActiveSilences(
  db: Kysely<Database>,
  scope: Scope,
  now: Date,
): Promise<AlertSilence[]> {
  return db
    .selectFrom('ktrlplane.alert_silences')
    .selectAll()
    .where('project_id', '=', scope.id)
    .where('ends_at', '>', now)
    .orderBy('ends_at')
    .execute();
}

export async function insertAlertSilence(
  db: Kysely<Database>,
  scope: Scope,
  values: Pick<AlertSilencesTable, 'rule_id' | 'comment' | 'starts_at' | 'ends_at' | 'created_by'>,
): Promise<AlertSilence> {
  return db
    .insertInto('ktrlplane.alert_silences')
    .values({ ...values, project_id: scope.id })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Ends a silence now (it stays listed in no active view afterwards). */
export async function expireAlertSilence(
  db: Kysely<Database>,
  scope: Scope,
  silenceId: string,
  now: Date,
): Promise<AlertSilence> {
  const silence = await db
    .updateTable('ktrlplane.alert_silences')
    .set({ ends_at: now })
    .where('project_id', '=', scope.id)
    .where('silence_id', '=', silenceId)
    .where('ends_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (!silence) throw notFound(`No active silence "${silenceId.slice(0, 64)}" exists in this project.`);
  return silence;
}

// ---- job-facing: across projects, only for the evaluation and delivery jobs -------------------

/** Job only: every enabled rule with its project's organization, least recently evaluated first. */
export async function rulesToEvaluate(
  trx: Kysely<Database>,
  limit: number,
  ruleIds?: string[],
): Promise<Array<AlertRule & { org_id: string }>> {
  return trx
    .selectFrom('ktrlplane.alert_rules as r')
    .innerJoin('ktrlplane.projects as p', 'p.project_id', 'r.project_id')
    .selectAll('r')
    .select('p.org_id')
    .where('r.enabled', '=', true)
    .$if(ruleIds !== undefined, (query) => query.where('r.rule_id', 'in', ruleIds?.length ? ruleIds : ['']))
    .orderBy(sql`r.last_evaluated_at NULLS FIRST`)
    .orderBy('r.rule_id')
    .limit(limit)
    .execute();
}

/** Job only: records an evaluation; `state` moves only when `transition` is set. */
export async function recordRuleEvaluation(
  trx: Transaction<Database>,
  ruleId: string,
  values: {
    value: number | null;
    error: string | null;
    now: Date;
    state?: AlertState;
    stateSince?: Date | null;
  },
): Promise<void> {
  await trx
    .updateTable('ktrlplane.alert_rules')
    .set({
      last_value: values.value,
      last_error: values.error,
      last_evaluated_at: values.now,
      ...(values.state ? { state: values.state, state_since: values.stateSince ?? null } : {}),
    })
    .where('rule_id', '=', ruleId)
    .execute();
}

/** Job only: whether a silence covers the rule at `now`. */
export async function isRuleSilenced(
  trx: Transaction<Database>,
  rule: Pick<AlertRule, 'rule_id' | 'project_id'>,
  now: Date,
): Promise<boolean> {
  const row = await trx
    .selectFrom('ktrlplane.alert_silences')
    .select('silence_id')
    .where('project_id', '=', rule.project_id)
    .where((eb) => eb.or([eb('rule_id', 'is', null), eb('rule_id', '=', rule.rule_id)]))
    .where('starts_at', '<=', now)
    .where('ends_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertAlertEvent(
  trx: Transaction<Database>,
  values: Pick<AlertEventsTable, 'rule_id' | 'project_id' | 'state' | 'value' | 'at'> & { silenced: boolean },
): Promise<AlertEvent> {
  return trx.insertInto('ktrlplane.alert_events').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Job only: the rule's channels (with the webhook signing secret, which only delivery reads). */
export async function channelsOfRule(
  trx: Transaction<Database>,
  rule: Pick<AlertRule, 'project_id' | 'channel_ids'>,
): Promise<Array<Selectable<AlertChannelsTable>>> {
  if (rule.channel_ids.length === 0) return [];
  return trx
    .selectFrom('ktrlplane.alert_channels')
    .selectAll()
    .where('project_id', '=', rule.project_id)
    .where('channel_id', 'in', rule.channel_ids)
    .execute();
}

export async function insertAlertDelivery(
  trx: Transaction<Database>,
  values: Pick<
    AlertDeliveriesTable,
    'event_id' | 'channel_id' | 'project_id' | 'status' | 'next_attempt_at' | 'created_at'
  > &
    Partial<Pick<AlertDeliveriesTable, 'delivered_at' | 'response_status' | 'last_error'>> & {
      attempts?: number;
    },
): Promise<void> {
  await trx.insertInto('ktrlplane.alert_deliveries').values(values).execute();
}

export interface DueDelivery {
  delivery_id: string;
  attempts: number;
  channel: Selectable<AlertChannelsTable>;
  event: AlertEvent;
  rule: AlertRule;
  org_id: string;
}

/** Job only: pending webhook and Alertmanager deliveries whose next attempt is due, oldest first. */
export async function dueAlertDeliveries(
  db: Kysely<Database>,
  now: Date,
  limit: number,
): Promise<DueDelivery[]> {
  const rows = await db
    .selectFrom('ktrlplane.alert_deliveries as d')
    .innerJoin('ktrlplane.alert_channels as c', 'c.channel_id', 'd.channel_id')
    .innerJoin('ktrlplane.alert_events as e', 'e.event_id', 'd.event_id')
    .innerJoin('ktrlplane.alert_rules as r', 'r.rule_id', 'e.rule_id')
    .innerJoin('ktrlplane.projects as p', 'p.project_id', 'r.project_id')
    .select([
      'd.delivery_id',
      'd.attempts',
      sql<Selectable<AlertChannelsTable>>`to_jsonb(c)`.as('channel'),
      sql<AlertEvent>`to_jsonb(e)`.as('event'),
      sql<AlertRule>`to_jsonb(r)`.as('rule'),
      'p.org_id',
    ])
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .orderBy('d.next_attempt_at')
    .limit(limit)
    .execute();
  // to_jsonb turns timestamps into strings: give the event its Date back.
  return rows.map((row) => ({ ...row, event: { ...row.event, at: new Date(row.event.at) } }));
}

/** Job only: records one attempt; a failed one is retried at `nextAttemptAt`, or given up (null). */
export async function recordDeliveryAttempt(
  trx: Transaction<Database>,
  deliveryId: string,
  outcome: {
    ok: boolean;
    responseStatus: number | null;
    error: string | null;
    now: Date;
    nextAttemptAt: Date | null;
  },
): Promise<void> {
  await trx
    .updateTable('ktrlplane.alert_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      response_status: outcome.responseStatus,
      last_error: outcome.error?.slice(0, 1000) ?? null,
      status: outcome.ok ? 'delivered' : outcome.nextAttemptAt ? 'pending' : 'failed',
      delivered_at: outcome.ok ? outcome.now : null,
      ...(outcome.nextAttemptAt ? { next_attempt_at: outcome.nextAttemptAt } : {}),
    }))
    .where('delivery_id', '=', deliveryId)
    .where('status', '=', 'pending')
    .execute();
}

/** Job only: when the rule's event last went to the channel (Alertmanager re-sends while firing). */
export async function lastDeliveryTo(
  trx: Transaction<Database>,
  channelId: string,
  eventId: number,
): Promise<Date | null> {
  const row = await trx
    .selectFrom('ktrlplane.alert_deliveries')
    .select((eb) => eb.fn.max('created_at').as('last'))
    .where('channel_id', '=', channelId)
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return row?.last ? new Date(row.last) : null;
}

/** Job only: the rule's latest firing event. */
export async function latestFiringEvent(
  trx: Transaction<Database>,
  ruleId: string,
): Promise<AlertEvent | undefined> {
  return trx
    .selectFrom('ktrlplane.alert_events')
    .selectAll()
    .where('rule_id', '=', ruleId)
    .where('state', '=', 'firing')
    .orderBy('event_id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Housekeeping only: finished deliveries and history older than `before` (a rule's current state
 * lives on the rule row; events still referenced by a pending delivery stay).
 */
export async function deleteAlertHistoryBefore(trx: Transaction<Database>, before: Date): Promise<number> {
  await trx
    .deleteFrom('ktrlplane.alert_deliveries')
    .where('created_at', '<', before)
    .where('status', '!=', 'pending')
    .execute();
  const events = await trx
    .deleteFrom('ktrlplane.alert_events')
    .where('at', '<', before)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('ktrlplane.alert_deliveries as d')
            .select('d.delivery_id')
            .whereRef('d.event_id', '=', 'ktrlplane.alert_events.event_id'),
        ),
      ),
    )
    .executeTakeFirst();
  await trx.deleteFrom('ktrlplane.alert_silences').where('ends_at', '<', before).execute();
  return Number(events.numDeletedRows);
}
