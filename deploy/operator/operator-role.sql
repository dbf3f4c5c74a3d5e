-- The database role db-query-operator connects as: it may read exactly the columns the manifests
-- in this folder read, and write back only a resource's status columns. Run by an administrator
-- (a role with CREATEROLE that owns or may grant on schema ktrlplane), connected to ktrlplane's
-- database, after ktrlplane's migrations. It is not a migration: ktrlplane's own database user
-- need not be allowed to create roles. See README.md beside it.
--
--   psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -f deploy/operator/operator-role.sql
--   psql "$ADMIN_URL" -c '\password ktrlplane_operator'
--
-- Optional settings, read with current_setting() so the script runs from any client:
--   ktrlplane.operator_role      the role's name (default ktrlplane_operator)
--   ktrlplane.operator_password  its password; without it the role gets none (use \password,
--                                which sends only a hash, never the password in clear text)
-- e.g. psql "$ADMIN_URL" -c "SET ktrlplane.operator_role = 'dbqo'" -f deploy/operator/operator-role.sql
--
-- Running it again is safe: it converges the role to exactly these privileges (it revokes what
-- it finds on the tables of schema ktrlplane first), and leaves an existing password alone unless
-- one is given.
DO $operator_role$
DECLARE
  role_name text := coalesce(nullif(current_setting('ktrlplane.operator_role', true), ''), 'ktrlplane_operator');
  role_password text := nullif(current_setting('ktrlplane.operator_password', true), '');
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
    -- Only a superuser may even mention SUPERUSER, REPLICATION or BYPASSRLS in ALTER ROLE, so an
    -- existing role with any of them is refused rather than quietly kept.
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = role_name AND (rolsuper OR rolreplication OR rolbypassrls)) THEN
      RAISE EXCEPTION 'role % exists with SUPERUSER, REPLICATION or BYPASSRLS: it cannot be the operator''s least-privilege role', role_name
        USING HINT = 'Set ktrlplane.operator_role to another name, or drop that role first.';
    END IF;
    EXECUTE format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT', role_name);
  ELSE
    EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT', role_name);
  END IF;
  IF role_password IS NOT NULL THEN
    EXECUTE format('ALTER ROLE %I WITH PASSWORD %L', role_name, role_password);
  END IF;

  -- Exactly these privileges, whatever an earlier version of this script granted.
  EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA ktrlplane FROM %I', role_name);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA ktrlplane FROM %I', role_name);
  EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ktrlplane FROM %I', role_name);

  -- For a server that has revoked CONNECT from PUBLIC; an administrator who does not own the
  -- database may not grant it, and then PUBLIC's default CONNECT has to do.
  BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), role_name);
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'could not grant CONNECT on database % to %; it relies on PUBLIC''s CONNECT', current_database(), role_name;
  END;
  EXECUTE format('GRANT USAGE ON SCHEMA ktrlplane TO %I', role_name);

  -- Read: the queries of namespaces.yaml, digitaltwins.yaml and flows.yaml, change detection on
  -- updated_at, and what the status updates read in their WHERE and SET (type, deployment_state,
  -- and the current access_url and observed_generation they keep when nothing new is known).
  EXECUTE format(
    'GRANT SELECT (resource_id, project_id, type, sku, generation, settings_json, deployment_state, '
    'updated_at, access_url, observed_generation) ON ktrlplane.resources TO %I', role_name);
  EXECUTE format('GRANT SELECT (project_id, org_id) ON ktrlplane.projects TO %I', role_name);

  -- Write: the status columns only. The history (ktrlplane.resource_deployments) is written by a
  -- SECURITY DEFINER trigger, so the role needs nothing on it.
  EXECUTE format(
    'GRANT UPDATE (status, error_message, access_url, observed_generation) ON ktrlplane.resources TO %I',
    role_name);
END
$operator_role$;
