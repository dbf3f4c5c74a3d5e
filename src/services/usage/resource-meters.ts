import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.ts';
import {
  instanceCountSetting,
  type ResourceTypeDefinition,
} from '../../schemas/resource-types/resource-type.ts';

export interface ResourceTypeMeterPointers {
  type_name: string;
  /** JSON pointer of the instance (replica) count in settings_json; null = always 1. */
  instances_pointer: string | null;
  /** JSON pointer of the storage size (a Kubernetes quantity); null = no storage. */
  storage_pointer: string | null;
}

/**
 * Where a type's settings hold what it costs to run: the settings its deployment spec renders to
 * the chart's instance count (instanceCountSetting, the same rule plan enforcement uses) and to a `…storage.size` value.
 * The usage trigger (migration 0009) reads these from ktrlplane.resource_type_meters.
 */
export function meterPointersOf(type: ResourceTypeDefinition): ResourceTypeMeterPointers {
  const values = type.deployment.values;
  return {
    type_name: type.name,
    instances_pointer: instanceCountSetting(type.deployment) ?? null,
    storage_pointer:
      values.find((value) => value.value === 'storage.size' || value.value.endsWith('.storage.size'))
        ?.setting ?? null,
  };
}

/** Upserts the pointers of every registered type (start-up, beside syncResourceTypes). */
export async function syncResourceTypeMeters(
  db: Kysely<Database>,
  types: readonly ResourceTypeDefinition[],
): Promise<void> {
  if (types.length === 0) return;
  await db
    .insertInto('ktrlplane.resource_type_meters')
    .values(types.map(meterPointersOf))
    .onConflict((oc) =>
      oc.column('type_name').doUpdateSet((eb) => ({
        instances_pointer: eb.ref('excluded.instances_pointer'),
        storage_pointer: eb.ref('excluded.storage_pointer'),
      })),
    )
    .execute();
}
