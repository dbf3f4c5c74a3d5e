import { type Kysely, sql } from 'kysely';

/**
 * Konnektr.Secret in the catalogue of resource types, so the operator's queries and reports know
 * it before ktrlplane first starts (start-up then upserts the full definition from
 * src/schemas/resource-types/secret.ts). A Secret's values need no table of their own: they are
 * stored sealed (encrypted) in its settings_json under `entries`, where the operator's manifest
 * (deploy/operator/secrets.yaml) reads them through the SQL function that
 * deploy/operator/operator-secrets.sql installs with the operator's key. An index on resources.type
 * is not added: the existing queries by type read whole projects or the whole table anyway.
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
}
