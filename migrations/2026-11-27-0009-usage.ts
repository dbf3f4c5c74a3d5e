import { type Kysely, sql } from 'kysely';

/**
 * Usage metering (src/services/usage/*, issue 7):
 * - usage_events: events data planes report (POST /api/v1/usage/events), once per (org, id): the
 *   primary key makes the dedupe atomic, `payload_hash` tells a retry (same payload) from a
 *   conflict (same id, different payload).
 * - resource_usage_changes: every change of what a resource costs to run (status, deployment
 *   state, type, SKU, instance count, storage size), written by a trigger so the operator's own
 *   status writes count. Times come from the row (`status_changed_at` / `updated_at`, which
 *   ktrlplane sets from its clock), so instance-hours are exact to the second. The trigger takes
 *   the same transaction-scoped advisory lock as resources_record_deployment before it allocates
 *   an id, so ids are handed out in commit order and the rollup can follow them by id without
 *   ever skipping a change that commits late. No settings are copied (they may hold secrets):
 *   only the instance count and the storage quantity, found through the type's deployment spec
 *   (ktrlplane.resource_type_meters: the settings the deployment spec renders to `replicaCount`
 *   and `*storage.size`).
 * - api_usage_minutes: API calls per (org, project, token, minute), flushed in batches by the
 *   counting middleware (contract shared with the alerts helper; '' = none).
 * - usage_dirty_hours: the hours a write touched (events, API minutes), queued in the writer's
 *   transaction; the rollup takes them and recomputes exactly those hours.
 * - usage_minutely / usage_hourly: aggregates per (billing account, metric, resource) — '' for
 *   usage that belongs to no resource (API calls). `reported_quantity` is what the reporting job
 *   last turned into meter events; rows where it differs from `quantity` are still to report.
 * - usage_rollup_state: the rollup's watermarks (runtime usage computed up to `watermark`, changes
 *   followed up to `last_change_id`).
 * - usage_meter_reports: the outbox of Stripe meter events. The identifier is deterministic
 *   (account, meter, hour, revision) and unique; a correction is a new revision carrying the
 *   difference. pending → sent | failed, with attempts, backoff and a lease against double sends.
 * - usage_reconciliations: our totals against Stripe's meter event summaries, per account, meter
 *   and day.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.usage_events (
      org_id       text NOT NULL,
      event_id     text NOT NULL,
      project_id   text NOT NULL,
      resource_id  text NOT NULL,
      metric       text NOT NULL,
      occurred_at  timestamptz NOT NULL,
      value        numeric NOT NULL,
      attributes   jsonb,
      payload_hash text NOT NULL,
      received_at  timestamptz NOT NULL,
      PRIMARY KEY (org_id, event_id)
    );
    CREATE INDEX usage_events_period_idx ON ktrlplane.usage_events (resource_id, metric, occurred_at);

    CREATE TABLE ktrlplane.resource_usage_changes (
      change_id        bigserial PRIMARY KEY,
      resource_id      text NOT NULL,
      project_id       text NOT NULL,
      type             text NOT NULL,
      sku              text NOT NULL,
      status           text NOT NULL,
      deployment_state text NOT NULL,
      instances        integer NOT NULL,
      storage_quantity text,
      at               timestamptz NOT NULL
    );
    CREATE INDEX resource_usage_changes_resource_idx
      ON ktrlplane.resource_usage_changes (resource_id, at, change_id);

    -- Where a type's settings hold its instance count and storage size (JSON pointers), kept in
    -- line with src/schemas/resource-types by syncResourceTypes at start-up; seeded here so the
    -- trigger works before the first sync (and on Workers).
    CREATE TABLE ktrlplane.resource_type_meters (
      type_name         text PRIMARY KEY,
      instances_pointer text,
      storage_pointer   text
    );
    INSERT INTO ktrlplane.resource_type_meters VALUES
      ('Konnektr.DigitalTwins', '/instances', '/database/storageSize'),
      ('Konnektr.Flows', '/replicas', NULL);

    -- The value at a JSON pointer of the settings (e.g. '/database/storageSize'). of the settings (e.g. '/database/storageSize').
    CREATE FUNCTION ktrlplane.settings_at_pointer(settings jsonb, pointer text) RETURNS jsonb
      LANGUAGE sql IMMUTABLE AS $fn$
        SELECT CASE WHEN pointer IS NULL OR pointer = '' THEN NULL
               ELSE settings #> string_to_array(substr(pointer, 2), '/') END
    $fn$;

    CREATE FUNCTION ktrlplane.resources_record_usage_change() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    DECLARE
      r ktrlplane.resources;
      instances_pointer text;
      storage_pointer text;
      new_instances integer;
      new_storage text;
      old_instances integer;
      old_storage text;
      raw jsonb;
      change_at timestamptz;
    BEGIN
      IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
      SELECT m.instances_pointer, m.storage_pointer INTO instances_pointer, storage_pointer
        FROM ktrlplane.resource_type_meters m WHERE m.type_name = r.type;
      raw := ktrlplane.settings_at_pointer(r.settings_json, instances_pointer);
      new_instances := CASE WHEN jsonb_typeof(raw) = 'number' THEN (raw #>> '{}')::numeric::integer ELSE 1 END;
      raw := ktrlplane.settings_at_pointer(r.settings_json, storage_pointer);
      new_storage := CASE WHEN jsonb_typeof(raw) IN ('string', 'number') THEN raw #>> '{}' END;
      IF TG_OP = 'UPDATE' THEN
        raw := ktrlplane.settings_at_pointer(OLD.settings_json, instances_pointer);
        old_instances := CASE WHEN jsonb_typeof(raw) = 'number' THEN (raw #>> '{}')::numeric::integer ELSE 1 END;
        raw := ktrlplane.settings_at_pointer(OLD.settings_json, storage_pointer);
        old_storage := CASE WHEN jsonb_typeof(raw) IN ('string', 'number') THEN raw #>> '{}' END;
        IF (NEW.status, NEW.deployment_state, NEW.type, NEW.sku, new_instances, new_storage)
           IS NOT DISTINCT FROM
           (OLD.status, OLD.deployment_state, OLD.type, OLD.sku, old_instances, old_storage) THEN
          RETURN NULL;
        END IF;
      END IF;
      -- ktrlplane sets status_changed_at and updated_at from its own clock; the later of the two is
      -- when this change happened (the operator's status writes move status_changed_at only).
      IF TG_OP = 'DELETE' THEN
        change_at := greatest(clock_timestamp(), OLD.updated_at, OLD.status_changed_at);
      ELSE
        change_at := greatest(NEW.updated_at, NEW.status_changed_at);
      END IF;
      PERFORM pg_advisory_xact_lock(7316504811);
      INSERT INTO ktrlplane.resource_usage_changes
        (resource_id, project_id, type, sku, status, deployment_state, instances, storage_quantity, at)
      VALUES (r.resource_id, r.project_id, r.type, r.sku,
        CASE WHEN TG_OP = 'DELETE' THEN 'Deleted' ELSE r.status END,
        CASE WHEN TG_OP = 'DELETE' THEN 'deleted' ELSE r.deployment_state END,
        new_instances, new_storage, change_at);
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER resources_record_usage_change AFTER INSERT OR UPDATE OR DELETE ON ktrlplane.resources
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.resources_record_usage_change();

    -- Resources that exist already start their history now.
    INSERT INTO ktrlplane.resource_usage_changes
      (resource_id, project_id, type, sku, status, deployment_state, instances, storage_quantity, at)
    SELECT r.resource_id, r.project_id, r.type, r.sku, r.status, r.deployment_state,
      CASE WHEN jsonb_typeof(ktrlplane.settings_at_pointer(r.settings_json, m.instances_pointer)) = 'number'
        THEN (ktrlplane.settings_at_pointer(r.settings_json, m.instances_pointer) #>> '{}')::numeric::integer
        ELSE 1 END,
      ktrlplane.settings_at_pointer(r.settings_json, m.storage_pointer) #>> '{}',
      now()
    FROM ktrlplane.resources r LEFT JOIN ktrlplane.resource_type_meters m ON m.type_name = r.type;

    CREATE TABLE ktrlplane.api_usage_minutes (
      org_id           text NOT NULL,
      project_id       text NOT NULL DEFAULT '',
      token_id         text NOT NULL DEFAULT '',
      minute           timestamptz NOT NULL,
      requests         integer NOT NULL,
      client_errors    integer NOT NULL,
      server_errors    integer NOT NULL,
      duration_ms_sum  double precision NOT NULL,
      duration_buckets integer[] NOT NULL,
      PRIMARY KEY (org_id, project_id, token_id, minute)
    );
    CREATE INDEX api_usage_minutes_minute_idx ON ktrlplane.api_usage_minutes (minute);

    CREATE TABLE ktrlplane.usage_dirty_hours (
      org_id      text NOT NULL,
      project_id  text NOT NULL,
      resource_id text NOT NULL,
      metric      text NOT NULL,
      hour        timestamptz NOT NULL,
      PRIMARY KEY (org_id, project_id, resource_id, metric, hour)
    );

    CREATE TABLE ktrlplane.usage_minutely (
      scope_type    text NOT NULL,
      scope_id      text NOT NULL,
      metric        text NOT NULL,
      resource_id   text NOT NULL DEFAULT '',
      minute        timestamptz NOT NULL,
      org_id        text NOT NULL,
      project_id    text NOT NULL DEFAULT '',
      resource_type text,
      sku           text,
      quantity      numeric NOT NULL,
      PRIMARY KEY (scope_type, scope_id, metric, resource_id, minute)
    );
    CREATE INDEX usage_minutely_source_idx ON ktrlplane.usage_minutely (project_id, resource_id, metric, minute);
    CREATE INDEX usage_minutely_minute_idx ON ktrlplane.usage_minutely (minute);

    CREATE TABLE ktrlplane.usage_hourly (
      scope_type        text NOT NULL,
      scope_id          text NOT NULL,
      metric            text NOT NULL,
      resource_id       text NOT NULL DEFAULT '',
      hour              timestamptz NOT NULL,
      org_id            text NOT NULL,
      project_id        text NOT NULL DEFAULT '',
      resource_type     text,
      sku               text,
      quantity          numeric NOT NULL,
      reported_quantity numeric,
      updated_at        timestamptz NOT NULL,
      PRIMARY KEY (scope_type, scope_id, metric, resource_id, hour)
    );
    CREATE INDEX usage_hourly_source_idx ON ktrlplane.usage_hourly (project_id, resource_id, metric, hour);
    CREATE INDEX usage_hourly_account_hour_idx ON ktrlplane.usage_hourly (scope_type, scope_id, hour);
    CREATE INDEX usage_hourly_unreported_idx ON ktrlplane.usage_hourly (hour)
      WHERE reported_quantity IS DISTINCT FROM quantity;

    CREATE TABLE ktrlplane.usage_rollup_state (
      name           text PRIMARY KEY,
      watermark      timestamptz,
      last_change_id bigint NOT NULL DEFAULT 0,
      updated_at     timestamptz NOT NULL
    );

    CREATE TABLE ktrlplane.usage_meter_reports (
      identifier         text PRIMARY KEY,
      scope_type         text NOT NULL,
      scope_id           text NOT NULL,
      stripe_customer_id text NOT NULL,
      meter              text NOT NULL,
      event_name         text NOT NULL,
      hour               timestamptz NOT NULL,
      revision           integer NOT NULL,
      value              numeric NOT NULL,
      total              numeric NOT NULL,
      event_timestamp    timestamptz NOT NULL,
      status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      attempts           integer NOT NULL DEFAULT 0,
      next_attempt_at    timestamptz NOT NULL,
      lease_until        timestamptz,
      last_error         text,
      created_at         timestamptz NOT NULL,
      sent_at            timestamptz,
      UNIQUE (scope_type, scope_id, meter, hour, revision)
    );
    CREATE INDEX usage_meter_reports_pending_idx ON ktrlplane.usage_meter_reports (next_attempt_at)
      WHERE status = 'pending';

    CREATE TABLE ktrlplane.usage_reconciliations (
      scope_type   text NOT NULL,
      scope_id     text NOT NULL,
      meter        text NOT NULL,
      period_start timestamptz NOT NULL,
      period_end   timestamptz NOT NULL,
      ours         numeric NOT NULL,
      stripe       numeric NOT NULL,
      unsent       numeric NOT NULL,
      drift        numeric NOT NULL,
      checked_at   timestamptz NOT NULL,
      PRIMARY KEY (scope_type, scope_id, meter, period_start)
    );
    CREATE INDEX usage_reconciliations_checked_idx ON ktrlplane.usage_reconciliations (scope_type, scope_id, checked_at DESC);

    INSERT INTO ktrlplane.permissions (permission_id, action, description)
    VALUES ('usage-report', 'usage/report', 'Report usage events for the resources in the scope');
    INSERT INTO ktrlplane.roles (role_id, name, display_name, description, is_system, is_hidden)
    VALUES ('usage-reporter', 'Service Account: Usage Reporter', 'Service Account: Usage Reporter',
      'Lets a data plane report usage events for the resources it runs', true, true);
    INSERT INTO ktrlplane.role_permissions (role_id, permission_id) VALUES
      ('usage-reporter', 'usage-report'), ('owner', 'usage-report');
  `.execute(db);
}
