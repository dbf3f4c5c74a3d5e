import { digitalTwins } from './digital-twins.ts';
import { flows } from './flows.ts';
import type { ResourceTypeDefinition } from './resource-type.ts';
import { SECRET_TYPE_ID, secret } from './secret.ts';
import { canonicalTypeId } from './type-ids.ts';

export { SECRET_TYPE_ID };

/**
 * Every resource type the product offers, in the order pickers show them. Adding a type is adding
 * its file and one line here; forms, validation, the API and the resource_types table follow.
 */
const RESOURCE_TYPES: readonly ResourceTypeDefinition[] = [digitalTwins, flows, secret];

const byName = new Map<string, ResourceTypeDefinition>();
for (const type of RESOURCE_TYPES) {
  if (byName.has(type.name)) throw new Error(`Resource type ${type.name} is registered twice`);
  byName.set(type.name, type);
}

export function listResourceTypes(): readonly ResourceTypeDefinition[] {
  return RESOURCE_TYPES;
}

/**
 * The type called `name` (exact, case-sensitive as stored in resources.type), or undefined. A
 * deprecated alias (type-ids.ts) finds the type it stands for, whose `name` is the current id.
 */
export function getResourceType(name: string): ResourceTypeDefinition | undefined {
  return byName.get(canonicalTypeId(name));
}

export function resourceTypeNames(): string[] {
  return RESOURCE_TYPES.map((type) => type.name);
}
