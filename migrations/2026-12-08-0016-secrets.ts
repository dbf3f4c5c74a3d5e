import { type Kysely, sql } from 'kysely';

/**
 * Konnektr.Secret in the catalogue of resource types, so the operator's queries and reports know
 * it before ktrlplane first starts (start-up then upserts the full definition from
 * src/schemas/resource-types/secret.ts). A Secret's values need no table of their own: they are
 * stored sealed (encrypted) in its settings_json under `entries`, where the operator's manifest
 * (deploy/operator/secrets.yaml) reads them through ktrlplane.open_secret_for_operator().
 *
 * That function is created here only as a placeholder that refuses to run: the real one needs
 * pgcrypto and the operator's key, which deploy/operator/operator-secrets.sql (run by an
 * administrator, not by ktrlplane's own role) installs. With the placeholder the manifest's query
 * plans on every database, returns its rows while there are no Secrets, and fails loudly (so the
 * operator prunes nothing) once there are Secrets and nobody installed the real function.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    INSERT INTO ktrlplane.resource_types
      (type_name, display_name, description, icon, skus, presets, settings_schema, deployment_spec)
    VALUES (
      'Konnektr.Secret',
      'Secret',
      'Write-only key/value entries kept encrypted and delivered to the project''s namespace as a Kubernetes Secret.',
      '{}'::jsonb,
      '{}'::jsonb,
      '[]'::jsonb,
      '{"type": "object", "properties": {"entries": {"type": "object", "additionalProperties": {"type": "string", "writeOnly": true}}}, "additionalProperties": false}'::jsonb,
      '{"workload": "kubernetes-secret", "values": [], "secret_settings": ["/entries/*"], "health_checks": []}'::jsonb
    )
    ON CONFLICT (type_name) DO NOTHING
  `.execute(db);
  // Its meter pointers as start-up would write them (no instance or storage setting).
  await sql`
    INSERT INTO ktrlplane.resource_type_meters (type_name, instances_pointer, storage_pointer)
    VALUES ('Konnektr.Secret', NULL, NULL)
    ON CONFLICT (type_name) DO NOTHING
  `.execute(db);
  await sql`
    CREATE FUNCTION ktrlplane.open_secret_for_operator(resource_id text, sealed text)
    RETURNS text LANGUAGE plpgsql STABLE AS $fn$
    BEGIN
      RAISE EXCEPTION 'Konnektr.Secret values cannot be opened: the operator''s key is not installed'
        USING HINT = 'Run deploy/operator/operator-secrets.sql as an administrator (see deploy/operator/README.md).';
    END
    $fn$
  `.execute(db);
}
