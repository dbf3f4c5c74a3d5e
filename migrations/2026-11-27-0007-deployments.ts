import { type Kysely, sql } from 'kysely';

/**
 * The deployment loop with db-query-operator (see deploy/operator/README.md):
 * - `resources.deployment_state`: `deployed` (in the operator's query), `undeployed` (left out of
 *   it: the operator prunes the workload, the settings stay) or `deleting` (left out, and the row
 *   is removed once the operator has had time to prune). The operator's queries filter on it.
 * - `resources.observed_generation`: the generation the operator last applied, written back by its
 *   status template from the child object's annotation. "Changes pending" while it lags.
 * - `resources.status_changed_at`: since when the status is what it is (stuck detection), kept by
 *   a trigger so the operator's raw UPDATE moves it too.
 * - `resource_deployments`: every status transition, filled by a trigger — so the operator's own
 *   `UPDATE … SET status = …` is recorded — which also `pg_notify`s 'ktrlplane_resource_events'
 *   for the SSE streams. The trigger takes a transaction-scoped advisory lock before it allocates
 *   an event id, so ids are handed out in commit order and a stream resuming after id N can never
 *   miss an event that committed late with a smaller id. No foreign key: the history outlives the
 *   resource (its last event is `Deleted`), and usage is later computed from it.
 * - `resource_health_checks`: results of probing `access_url` health endpoints.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.resources
      ADD COLUMN observed_generation bigint,
      ADD COLUMN deployment_state text NOT NULL DEFAULT 'deployed'
        CHECK (deployment_state IN ('deployed', 'undeployed', 'deleting')),
      ADD COLUMN status_changed_at timestamptz NOT NULL DEFAULT now();

    CREATE FUNCTION ktrlplane.resources_track_status_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.status IS DISTINCT FROM OLD.status AND NEW.status_changed_at IS NOT DISTINCT FROM OLD.status_changed_at THEN
        NEW.status_changed_at := clock_timestamp();
      END IF;
      RETURN NEW;
    END
    $fn$;
    CREATE TRIGGER resources_track_status_change BEFORE UPDATE ON ktrlplane.resources
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.resources_track_status_change();

    CREATE TABLE ktrlplane.resource_deployments (
      event_id            bigserial PRIMARY KEY,
      resource_id         text NOT NULL,
      project_id          text NOT NULL,
      status              text NOT NULL,
      message             text,
      generation          bigint NOT NULL,
      observed_generation bigint,
      deployment_state    text NOT NULL,
      at                  timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX resource_deployments_resource_idx ON ktrlplane.resource_deployments (resource_id, event_id);
    CREATE INDEX resource_deployments_project_idx ON ktrlplane.resource_deployments (project_id, event_id);

    -- SECURITY DEFINER: the operator's role may UPDATE status columns but needs no INSERT here.
    CREATE FUNCTION ktrlplane.resources_record_deployment() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    DECLARE
      r ktrlplane.resources;
      new_id bigint;
    BEGIN
      IF TG_OP = 'DELETE' THEN
        r := OLD;
      ELSE
        r := NEW;
      END IF;
      IF TG_OP = 'UPDATE' AND
         (NEW.status, NEW.error_message, NEW.generation, NEW.observed_generation, NEW.deployment_state)
         IS NOT DISTINCT FROM
         (OLD.status, OLD.error_message, OLD.generation, OLD.observed_generation, OLD.deployment_state) THEN
        RETURN NULL;
      END IF;
      PERFORM pg_advisory_xact_lock(7316504811);
      INSERT INTO ktrlplane.resource_deployments
        (resource_id, project_id, status, message, generation, observed_generation, deployment_state)
      VALUES (
        r.resource_id, r.project_id,
        CASE WHEN TG_OP = 'DELETE' THEN 'Deleted' ELSE r.status END,
        r.error_message, r.generation, r.observed_generation,
        CASE WHEN TG_OP = 'DELETE' THEN 'deleted' ELSE r.deployment_state END)
      RETURNING event_id INTO new_id;
      PERFORM pg_notify('ktrlplane_resource_events',
        json_build_object('event_id', new_id, 'project_id', r.project_id, 'resource_id', r.resource_id)::text);
      RETURN NULL;
    END
    $fn$;
    CREATE TRIGGER resources_record_deployment AFTER INSERT OR UPDATE OR DELETE ON ktrlplane.resources
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.resources_record_deployment();

    CREATE TABLE ktrlplane.resource_health_checks (
      check_id    bigserial PRIMARY KEY,
      resource_id text NOT NULL REFERENCES ktrlplane.resources (resource_id) ON DELETE CASCADE,
      url         text NOT NULL,
      ok          boolean NOT NULL,
      status_code integer,
      latency_ms  integer NOT NULL,
      error       text,
      checked_at  timestamptz NOT NULL
    );
    CREATE INDEX resource_health_checks_resource_idx ON ktrlplane.resource_health_checks (resource_id, checked_at DESC);
  `.execute(db);
}
