import { type Kysely, sql } from 'kysely';

/**
 * The catalogue of resource types, so tools other than ktrlplane (the operator's queries, reports)
 * can read what each type is and how it deploys. The application owns the content: it upserts
 * every type it defines at start-up and marks the ones it no longer defines inactive (never
 * deleting them: resources of a retired type still name it). resources.type deliberately has no
 * foreign key here, for the same reason.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.resource_types (
      type_name       text PRIMARY KEY CHECK (length(type_name) BETWEEN 1 AND 100),
      display_name    text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 200),
      description     text NOT NULL DEFAULT '',
      -- A small inline SVG (viewBox and path data), SKUs with their limits and features, presets.
      icon            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(icon) = 'object'),
      skus            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(skus) = 'object'),
      presets         jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(presets) = 'array'),
      -- JSON Schema (draft 2020-12) of resources.settings_json for this type.
      settings_schema jsonb NOT NULL CHECK (jsonb_typeof(settings_schema) = 'object'),
      -- What the operator needs to deploy it: chart, values mapping, secret settings, health checks.
      deployment_spec jsonb NOT NULL CHECK (jsonb_typeof(deployment_spec) = 'object'),
      is_active       boolean NOT NULL DEFAULT true,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}
