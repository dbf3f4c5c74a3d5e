import { type Kysely, sql } from 'kysely';

/**
 * Alerts (issue 9, src/services/alerts):
 * - alert_rules: a project's rules. `kind` says where the value comes from (a control-plane
 *   metric, PromQL, a log pattern count, resource status, usage); `params` holds the kind's own
 *   fields; the condition is `value <comparator> threshold`, held for `for_seconds` before it fires.
 *   The rule row also carries its live state (inactive → pending → firing), so evaluation is one
 *   UPDATE per changed rule.
 * - alert_channels: where notifications go (in-app, email, webhook, Alertmanager). A webhook's
 *   signing secret is kept as given (it must sign every body; it is no credential to ktrlplane) and
 *   never read back out except by the delivery code.
 * - alert_events: the history of state changes (pending, firing, resolved).
 * - alert_deliveries: one notification of one event to one channel — the outbox the delivery job
 *   sends from, with attempts, backoff and the last answer (the delivery log the UI shows).
 * - alert_silences: while one is active (until `ends_at`), matching rules still change state but
 *   notify no channel.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.alert_rules (
      rule_id           text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      project_id        text NOT NULL REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      name              text NOT NULL,
      kind              text NOT NULL CHECK (kind IN ('metric', 'promql', 'log', 'status', 'usage')),
      params            jsonb NOT NULL DEFAULT '{}'::jsonb,
      comparator        text NOT NULL CHECK (comparator IN ('>', '>=', '<', '<=')),
      threshold         double precision NOT NULL,
      window_seconds    integer NOT NULL,
      for_seconds       integer NOT NULL DEFAULT 0,
      severity          text NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),
      labels            jsonb NOT NULL DEFAULT '{}'::jsonb,
      runbook_url       text,
      channel_ids       jsonb NOT NULL DEFAULT '[]'::jsonb,
      enabled           boolean NOT NULL DEFAULT true,
      state             text NOT NULL DEFAULT 'inactive' CHECK (state IN ('inactive', 'pending', 'firing')),
      state_since       timestamptz,
      last_value        double precision,
      last_evaluated_at timestamptz,
      last_error        text,
      created_by        text,
      created_at        timestamptz NOT NULL,
      updated_at        timestamptz NOT NULL,
      UNIQUE (project_id, name)
    );

    CREATE TABLE ktrlplane.alert_channels (
      channel_id     text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      project_id     text NOT NULL REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      name           text NOT NULL,
      kind           text NOT NULL CHECK (kind IN ('in_app', 'email', 'webhook', 'alertmanager')),
      target         text,
      signing_secret text,
      created_at     timestamptz NOT NULL,
      UNIQUE (project_id, name)
    );

    CREATE TABLE ktrlplane.alert_events (
      event_id   bigserial PRIMARY KEY,
      rule_id    text NOT NULL REFERENCES ktrlplane.alert_rules (rule_id) ON DELETE CASCADE,
      project_id text NOT NULL,
      state      text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
      value      double precision,
      silenced   boolean NOT NULL DEFAULT false,
      at         timestamptz NOT NULL
    );
    CREATE INDEX alert_events_rule_idx ON ktrlplane.alert_events (rule_id, event_id);
    CREATE INDEX alert_events_project_idx ON ktrlplane.alert_events (project_id, event_id);

    CREATE TABLE ktrlplane.alert_deliveries (
      delivery_id     text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      event_id        bigint NOT NULL REFERENCES ktrlplane.alert_events (event_id) ON DELETE CASCADE,
      channel_id      text NOT NULL REFERENCES ktrlplane.alert_channels (channel_id) ON DELETE CASCADE,
      project_id      text NOT NULL,
      status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
      attempts        integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz NOT NULL,
      response_status integer,
      last_error      text,
      created_at      timestamptz NOT NULL,
      delivered_at    timestamptz
    );
    CREATE INDEX alert_deliveries_due_idx ON ktrlplane.alert_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX alert_deliveries_channel_idx ON ktrlplane.alert_deliveries (channel_id, created_at);

    CREATE TABLE ktrlplane.alert_silences (
      silence_id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      project_id text NOT NULL REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      rule_id    text REFERENCES ktrlplane.alert_rules (rule_id) ON DELETE CASCADE,
      comment    text NOT NULL,
      created_by text,
      starts_at  timestamptz NOT NULL,
      ends_at    timestamptz NOT NULL
    );
    CREATE INDEX alert_silences_project_idx ON ktrlplane.alert_silences (project_id, ends_at);
  `.execute(db);
}
