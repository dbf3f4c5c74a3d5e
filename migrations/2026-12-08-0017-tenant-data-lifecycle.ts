import { type Kysely, sql } from 'kysely';

/**
 * Tenant data goes with its project (issue 15, finding 2). Project, resource and organization ids
 * are chosen by their creators and freed by deletion, so any row keyed by such an id without a
 * foreign key used to outlive its owner and show up in whatever was created next under the id.
 * delete_scope_dependents (AFTER DELETE on organizations, projects and resources, the cascades
 * included) and forget_scope_data (the same, deferred to the deleting transaction's commit, so it
 * also catches what other delete triggers write meanwhile) now clear every such table:
 *
 * - Deleted: what only the tenant reads — log lines (every partition), status history, API call
 *   statistics, invitations to the scope; project-scoped API tokens are revoked; a user's
 *   "last project" pointer is cleared.
 * - Detached, not deleted: usage and billing rows (usage events, minute and hour rollups, dirty
 *   hours, runtime usage changes, meter reports, reconciliations) may be owed or already reported
 *   to Stripe. Their id is rewritten to `<id>~deleted~<time>`, a value no project, resource or
 *   organization id can take (ids are DNS labels), so the money data stays whole and sums per
 *   billing account stay right, while no new owner of the id can read or be billed for it.
 * - Audit events keep their organization id (the deletion stays on record); reads of an
 *   organization's audit log start at the organization's creation instead.
 *
 * A resource deleted alone keeps its usage rows under its id: late usage events for it are still
 * accepted by its history (usage ingest), and every read of them is filtered by project.
 *
 * Tables with a cascading foreign key (alerts, saved searches, ingest tokens, notifications,
 * drafts, health checks) needed nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX usage_events_project_idx ON ktrlplane.usage_events (project_id);
    CREATE INDEX resource_usage_changes_project_idx ON ktrlplane.resource_usage_changes (project_id);
    CREATE INDEX api_tokens_scope_idx ON ktrlplane.api_tokens (scope_type, scope_id) WHERE scope_id IS NOT NULL;

    -- Immediately, as before: who may act on the scope, and what could let someone in.
    CREATE OR REPLACE FUNCTION ktrlplane.delete_scope_dependents() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      scope text := TG_ARGV[0];
      id    text := to_jsonb(OLD) ->> TG_ARGV[1];
    BEGIN
      DELETE FROM ktrlplane.role_assignments WHERE scope_type = scope AND scope_id = id;
      DELETE FROM ktrlplane.billing_accounts WHERE scope_type = scope AND scope_id = id;
      DELETE FROM ktrlplane.invitations WHERE scope_type = scope AND scope_id = id;
      UPDATE ktrlplane.api_tokens SET revoked_at = now()
        WHERE scope_type = scope AND scope_id = id AND revoked_at IS NULL;
      RETURN OLD;
    END
    $fn$;

    -- At commit (a deferred constraint trigger): the rows other triggers still write while the
    -- deletion cascades (a resource's final 'Deleted' status and usage change) are gone or detached too.
    CREATE FUNCTION ktrlplane.forget_scope_data() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      scope   text := TG_ARGV[0];
      old_row jsonb := to_jsonb(OLD);
      id      text := old_row ->> TG_ARGV[1];
      gone    text := id || '~deleted~' || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISSUS');
    BEGIN
      -- A billing account of the scope itself (a project billed on its own).
      UPDATE ktrlplane.usage_minutely SET scope_id = gone WHERE scope_type = scope AND scope_id = id;
      UPDATE ktrlplane.usage_hourly SET scope_id = gone WHERE scope_type = scope AND scope_id = id;
      UPDATE ktrlplane.usage_meter_reports SET scope_id = gone WHERE scope_type = scope AND scope_id = id;
      UPDATE ktrlplane.usage_reconciliations SET scope_id = gone WHERE scope_type = scope AND scope_id = id;
      IF scope = 'organization' THEN
        DELETE FROM ktrlplane.api_usage_minutes WHERE org_id = id;
        UPDATE ktrlplane.usage_events SET org_id = gone WHERE org_id = id;
        UPDATE ktrlplane.usage_dirty_hours SET org_id = gone WHERE org_id = id;
        UPDATE ktrlplane.usage_minutely SET org_id = gone WHERE org_id = id;
        UPDATE ktrlplane.usage_hourly SET org_id = gone WHERE org_id = id;
      ELSIF scope = 'project' THEN
        DELETE FROM ktrlplane.logs WHERE project_id = id;
        DELETE FROM ktrlplane.resource_deployments WHERE project_id = id;
        DELETE FROM ktrlplane.api_usage_minutes WHERE project_id = id;
        UPDATE ktrlplane.users SET last_project_id = NULL WHERE last_project_id = id;
        UPDATE ktrlplane.resource_usage_changes SET project_id = gone WHERE project_id = id;
        UPDATE ktrlplane.usage_events SET project_id = gone WHERE project_id = id;
        UPDATE ktrlplane.usage_dirty_hours SET project_id = gone WHERE project_id = id;
        UPDATE ktrlplane.usage_minutely SET project_id = gone WHERE project_id = id;
        UPDATE ktrlplane.usage_hourly SET project_id = gone WHERE project_id = id;
      END IF;
      RETURN NULL;
    END
    $fn$;
    CREATE CONSTRAINT TRIGGER organizations_forget_data AFTER DELETE ON ktrlplane.organizations
      DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.forget_scope_data('organization', 'org_id');
    CREATE CONSTRAINT TRIGGER projects_forget_data AFTER DELETE ON ktrlplane.projects
      DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.forget_scope_data('project', 'project_id');
  `.execute(db);
}
