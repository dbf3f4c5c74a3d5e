import { type Kysely, sql } from 'kysely';

/**
 * The core of schema `ktrlplane`. Table and column names of organizations, projects, resources,
 * billing_accounts and the role tables are read by db-query-operator and the data planes: they are
 * a public contract. Migrations never import application code.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE SCHEMA IF NOT EXISTS ktrlplane;

    -- Ids that become Kubernetes names: 1–63 chars, lowercase letter first, [a-z0-9-], no trailing
    -- hyphen, no double hyphen.
    CREATE DOMAIN ktrlplane.dns_label AS text
      CHECK (VALUE ~ '^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$' AND position('--' in VALUE) = 0);

    CREATE TABLE ktrlplane.users (
      user_id           text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 255),
      email             text CHECK (email IS NULL OR position('@' in email) > 1),
      name              text,
      is_platform_admin boolean NOT NULL DEFAULT false,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_key ON ktrlplane.users (lower(email));

    CREATE TABLE ktrlplane.organizations (
      org_id     ktrlplane.dns_label PRIMARY KEY,
      name       text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ktrlplane.projects (
      project_id  ktrlplane.dns_label PRIMARY KEY,
      org_id      ktrlplane.dns_label NOT NULL REFERENCES ktrlplane.organizations (org_id) ON DELETE CASCADE,
      name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      description text NOT NULL DEFAULT '',
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX projects_org_id_idx ON ktrlplane.projects (org_id);

    CREATE TABLE ktrlplane.resources (
      resource_id   ktrlplane.dns_label PRIMARY KEY,
      project_id    ktrlplane.dns_label NOT NULL REFERENCES ktrlplane.projects (project_id) ON DELETE CASCADE,
      name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      type          text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
      sku           text NOT NULL DEFAULT 'free',
      status        text NOT NULL DEFAULT 'Pending',
      -- Never NULL: the operator's templates index into it, and a NULL row is skipped and pruned.
      settings_json jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings_json) = 'object'),
      error_message text,
      access_url    text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX resources_project_id_idx ON ktrlplane.resources (project_id);
    CREATE INDEX resources_updated_at_idx ON ktrlplane.resources (updated_at);

    -- updated_at moves when a user changes what the operator deploys, not when the operator writes
    -- status back: its change detection polls updated_at, so bumping it on status writes would make
    -- the operator re-trigger itself. A writer that sets updated_at explicitly keeps its value.
    CREATE FUNCTION ktrlplane.resources_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
        RETURN NEW;
      END IF;
      IF (NEW.name, NEW.type, NEW.sku, NEW.settings_json, NEW.project_id)
         IS DISTINCT FROM (OLD.name, OLD.type, OLD.sku, OLD.settings_json, OLD.project_id) THEN
        NEW.updated_at := now();
      END IF;
      RETURN NEW;
    END
    $fn$;
    CREATE TRIGGER resources_touch_updated_at BEFORE UPDATE ON ktrlplane.resources
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.resources_touch_updated_at();

    CREATE TABLE ktrlplane.roles (
      role_id      text PRIMARY KEY,
      name         text NOT NULL UNIQUE,
      display_name text NOT NULL,
      description  text NOT NULL DEFAULT '',
      is_system    boolean NOT NULL DEFAULT false,
      is_hidden    boolean NOT NULL DEFAULT false,
      created_at   timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ktrlplane.permissions (
      permission_id text PRIMARY KEY,
      action        text NOT NULL UNIQUE,
      description   text NOT NULL DEFAULT ''
    );

    CREATE TABLE ktrlplane.role_permissions (
      role_id       text NOT NULL REFERENCES ktrlplane.roles (role_id) ON DELETE CASCADE,
      permission_id text NOT NULL REFERENCES ktrlplane.permissions (permission_id) ON DELETE CASCADE,
      PRIMARY KEY (role_id, permission_id)
    );

    CREATE TABLE ktrlplane.role_assignments (
      assignment_id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      user_id       text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      role_id       text NOT NULL REFERENCES ktrlplane.roles (role_id) ON DELETE CASCADE,
      scope_type    text NOT NULL CHECK (scope_type IN ('organization', 'project', 'resource', 'global')),
      scope_id      text NOT NULL CHECK (length(scope_id) BETWEEN 1 AND 255),
      expires_at    timestamptz,
      created_by    text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, role_id, scope_type, scope_id)
    );
    CREATE INDEX role_assignments_scope_idx ON ktrlplane.role_assignments (scope_type, scope_id);
    CREATE INDEX role_assignments_user_idx ON ktrlplane.role_assignments (user_id);

    CREATE TABLE ktrlplane.billing_accounts (
      scope_type             text NOT NULL CHECK (scope_type IN ('organization', 'project')),
      scope_id               ktrlplane.dns_label NOT NULL,
      stripe_customer_id     text,
      stripe_subscription_id text,
      created_at             timestamptz NOT NULL DEFAULT now(),
      updated_at             timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope_type, scope_id)
    );

    -- Scopes are polymorphic (no foreign key can point at them), so deleting an organization,
    -- project or resource removes the assignments and billing accounts of that scope here. Deletes
    -- cascade organization → projects → resources through the foreign keys, and each level fires
    -- this trigger, so nothing is orphaned.
    CREATE FUNCTION ktrlplane.delete_scope_dependents() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE
      scope text := TG_ARGV[0];
      id    text := to_jsonb(OLD) ->> TG_ARGV[1];
    BEGIN
      DELETE FROM ktrlplane.role_assignments WHERE scope_type = scope AND scope_id = id;
      DELETE FROM ktrlplane.billing_accounts WHERE scope_type = scope AND scope_id = id;
      RETURN OLD;
    END
    $fn$;
    CREATE TRIGGER organizations_delete_dependents AFTER DELETE ON ktrlplane.organizations
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.delete_scope_dependents('organization', 'org_id');
    CREATE TRIGGER projects_delete_dependents AFTER DELETE ON ktrlplane.projects
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.delete_scope_dependents('project', 'project_id');
    CREATE TRIGGER resources_delete_dependents AFTER DELETE ON ktrlplane.resources
      FOR EACH ROW EXECUTE FUNCTION ktrlplane.delete_scope_dependents('resource', 'resource_id');

    CREATE TABLE ktrlplane.job_runs (
      run_id      text PRIMARY KEY DEFAULT gen_random_uuid()::text,
      job         text NOT NULL,
      trigger     text NOT NULL,
      outcome     text NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped')),
      detail      text,
      started_at  timestamptz NOT NULL,
      finished_at timestamptz NOT NULL
    );
    CREATE INDEX job_runs_job_started_idx ON ktrlplane.job_runs (job, started_at DESC);
  `.execute(db);
}
