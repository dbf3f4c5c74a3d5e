import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, ResourceTypesTable } from './types.ts';

/**
 * ktrlplane.resource_types: the product catalogue, not tenant data, so these functions take no
 * tenant scope. Only the start-up sync writes here (services/resource-types.ts); other tools read.
 */

export type ResourceTypeRow = Selectable<ResourceTypesTable>;

/** The content of a row that the application defines (everything except state and timestamps). */
export interface ResourceTypeContent {
  type_name: string;
  display_name: string;
  description: string;
  icon: Record<string, unknown>;
  skus: Record<string, unknown>;
  presets: unknown[];
  settings_schema: Record<string, unknown>;
  deployment_spec: Record<string, unknown>;
}

export async function listResourceTypeRows(
  db: Kysely<Database>,
  filter: { activeOnly?: boolean } = {},
): Promise<ResourceTypeRow[]> {
  let query = db.selectFrom('ktrlplane.resource_types').selectAll();
  if (filter.activeOnly) query = query.where('is_active', '=', true);
  return query.orderBy('type_name').execute();
}

export async function findResourceTypeRow(
  db: Kysely<Database>,
  typeName: string,
): Promise<ResourceTypeRow | undefined> {
  return db
    .selectFrom('ktrlplane.resource_types')
    .selectAll()
    .where('type_name', '=', typeName)
    .executeTakeFirst();
}

/**
 * Inserts the type, or updates it when its content differs from the stored row or it was
 * inactive. An unchanged row keeps its updated_at, so running this again changes nothing.
 * jsonb is compared as jsonb (key order does not matter).
 */
export async function upsertResourceTypeRow(
  trx: Transaction<Database>,
  content: ResourceTypeContent,
  now: Date,
): Promise<'inserted' | 'updated' | 'unchanged'> {
  const values = {
    type_name: content.type_name,
    display_name: content.display_name,
    description: content.description,
    icon: JSON.stringify(content.icon),
    skus: JSON.stringify(content.skus),
    presets: JSON.stringify(content.presets),
    settings_schema: JSON.stringify(content.settings_schema),
    deployment_spec: JSON.stringify(content.deployment_spec),
  };
  const db = trx;
  const existed = await db
    .selectFrom('ktrlplane.resource_types')
    .select('type_name')
    .where('type_name', '=', content.type_name)
    .forUpdate()
    .executeTakeFirst();
  const result = await db
    .insertInto('ktrlplane.resource_types')
    .values({ ...values, is_active: true, created_at: now, updated_at: now })
    .onConflict((oc) =>
      oc
        .column('type_name')
        .doUpdateSet((eb) => ({
          display_name: eb.ref('excluded.display_name'),
          description: eb.ref('excluded.description'),
          icon: eb.ref('excluded.icon'),
          skus: eb.ref('excluded.skus'),
          presets: eb.ref('excluded.presets'),
          settings_schema: eb.ref('excluded.settings_schema'),
          deployment_spec: eb.ref('excluded.deployment_spec'),
          is_active: true,
          updated_at: now,
        }))
        .where((eb) =>
          eb.or([
            eb('ktrlplane.resource_types.is_active', '=', false),
            ...(
              [
                'display_name',
                'description',
                'icon',
                'skus',
                'presets',
                'settings_schema',
                'deployment_spec',
              ] as const
            ).map((column) =>
              eb(`ktrlplane.resource_types.${column}`, 'is distinct from', eb.ref(`excluded.${column}`)),
            ),
          ]),
        ),
    )
    .returning('type_name')
    .executeTakeFirst();
  if (!result) return 'unchanged';
  return existed ? 'updated' : 'inserted';
}

/** Marks every active type not in `keep` inactive; returns the names it changed. */
export async function deactivateResourceTypesExcept(
  trx: Transaction<Database>,
  keep: readonly string[],
  now: Date,
): Promise<string[]> {
  let query = trx
    .updateTable('ktrlplane.resource_types')
    .set({ is_active: false, updated_at: now })
    .where('is_active', '=', true);
  if (keep.length > 0) query = query.where('type_name', 'not in', keep);
  const rows = await query.returning('type_name').execute();
  return rows.map((row) => row.type_name).sort();
}
