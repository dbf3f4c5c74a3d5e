import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  deactivateResourceTypesExcept,
  type ResourceTypeContent,
  upsertResourceTypeRow,
} from '../db/resource-types.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError, type FieldError, toJsonPointer } from '../lib/errors.ts';
import { getResourceType, listResourceTypes, resourceTypeNames } from '../schemas/resource-types/registry.ts';
import {
  isSkuId,
  type ResourceTypeDefinition,
  type SettingsSchema,
  SKU_IDS,
  type SkuId,
} from '../schemas/resource-types/resource-type.ts';
import { syncResourceTypeMeters } from './usage/resource-meters.ts';

/**
 * Everything derived from the resource type definitions: the per-SKU schema and the validation
 * every write of settings goes through, the JSON Schema export, the API's view of a type, and
 * the sync of the catalogue into ktrlplane.resource_types. Types are product data, not tenant
 * data: nothing here takes a tenant scope.
 */

// ---------------------------------------------------------------------------------------------
// Looking types up

/** A 422 for a resource type that does not exist, naming the ones that do (at /type of the body). */
export function unknownResourceType(name: string): AppError {
  const known = resourceTypeNames().join(', ');
  return new AppError(
    422,
    'Unprocessable Content',
    `There is no resource type "${name}". Use one of: ${known}.`,
    [{ pointer: '/type', message: `unknown resource type; use one of: ${known}` }],
  );
}

/** The type called `name`, or a 422 naming the known ones. */
export function requireResourceType(name: string): ResourceTypeDefinition {
  const type = getResourceType(name);
  if (!type) throw unknownResourceType(name);
  return type;
}

/** `sku` as a SKU id, or a 422 at /sku naming the SKUs of the type. */
export function requireSku(type: ResourceTypeDefinition, sku: string): SkuId {
  if (isSkuId(sku) && sku in type.skus) return sku;
  const known = SKU_IDS.filter((id) => id in type.skus).join(', ');
  throw new AppError(
    422,
    'Unprocessable Content',
    `${type.displayName} has no SKU "${sku}". Use one of: ${known}.`,
    [{ pointer: '/sku', message: `unknown SKU; use one of: ${known}` }],
  );
}

// ---------------------------------------------------------------------------------------------
// Validation

const skuSchemas = new WeakMap<ResourceTypeDefinition, Map<SkuId, SettingsSchema>>();

/**
 * The settings schema of `type` with the rules of `sku` added: the one schema that validates a
 * form post, a JSON body and an inline field check. A SKU error is not added at a field that
 * already has an error (instances 9 on the free SKU says "at most 6" once, not twice).
 */
export function settingsSchemaFor(type: ResourceTypeDefinition, sku: SkuId): SettingsSchema {
  let perSku = skuSchemas.get(type);
  if (!perSku) {
    perSku = new Map();
    skuSchemas.set(type, perSku);
  }
  let schema = perSku.get(sku);
  if (!schema) {
    schema = type.settings.superRefine(
      (value, ctx) => {
        const taken = new Set(ctx.issues.map((issue) => toJsonPointer(issue.path ?? [])));
        for (const issue of type.checkSku(sku, value)) {
          if (!taken.has(toJsonPointer(issue.path)))
            ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
        }
      },
      { when: () => true },
    ) as SettingsSchema;
    perSku.set(sku, schema);
  }
  return schema;
}

/**
 * Zod issues as field errors with JSON pointers relative to the validated value. An unknown key
 * becomes one error at that key (Zod reports them together at the object), so a form can show it
 * beside the field and an API client can find it.
 */
export function issuesToFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (pointer: string, message: string) => {
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    errors.push({ pointer, message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        add(toJsonPointer([...issue.path, key]), `"${key}" is not a setting here; remove it`);
      }
    } else {
      add(toJsonPointer(issue.path), issue.message);
    }
  }
  return errors;
}

export type SettingsValidation =
  | { ok: true; data: Record<string, unknown> }
  | { ok: false; errors: FieldError[] };

/**
 * Validates settings for a type and SKU: the type's schema (bounds, strictness, cross-field rules)
 * and the SKU's limits. Pointers are relative to the settings (`/eventSinks/kafka/0/topic`); a
 * caller validating a whole body prefixes them. On success `data` has the defaults filled in.
 * An unknown type or SKU is not a settings error: it throws a 422 at /type or /sku.
 */
export function validateSettings(
  type: ResourceTypeDefinition | string,
  sku: string,
  settings: unknown,
): SettingsValidation {
  const definition = typeof type === 'string' ? requireResourceType(type) : type;
  const schema = settingsSchemaFor(definition, requireSku(definition, sku));
  const result = schema.safeParse(settings);
  if (result.success) return { ok: true, data: result.data as Record<string, unknown> };
  return { ok: false, errors: issuesToFieldErrors(result.error.issues) };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema and the API's view of a type

export type JsonSchema = Record<string, unknown>;

const jsonSchemas = new WeakMap<ResourceTypeDefinition, JsonSchema>();

/**
 * The JSON Schema (draft 2020-12) of what a client may send as settings (`io: 'input'`: fields
 * with defaults are optional). Field meta is kept as written (label, help, widget, secret,
 * placeholder) and also mapped to the standard keywords: label → title, help → description,
 * secret → writeOnly. Refinements (cross-field rules, quantity bounds, SKU limits) have no JSON
 * Schema form; they are left out rather than failing the export, and the server enforces them.
 */
export function settingsJsonSchema(type: ResourceTypeDefinition): JsonSchema {
  let schema = jsonSchemas.get(type);
  if (!schema) {
    schema = z.toJSONSchema(type.settings, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'any',
      override: ({ jsonSchema }) => {
        const meta = jsonSchema as Record<string, unknown>;
        if (typeof meta.label === 'string' && meta.title === undefined) meta.title = meta.label;
        if (typeof meta.help === 'string' && meta.description === undefined) meta.description = meta.help;
        if (meta.secret === true) meta.writeOnly = true;
      },
    }) as JsonSchema;
    schema = { ...schema, title: `${type.displayName} settings` };
    jsonSchemas.set(type, schema);
  }
  return schema;
}

export interface SkuDocument {
  display_name: string;
  description: string;
  limits: Record<string, number | string>;
  features: string[];
}

export interface PresetDocument {
  id: string;
  name: string;
  description: string;
  sku: SkuId;
  settings: Record<string, unknown>;
}

/** A type as GET /api/v1/resource-types answers it. */
export interface ResourceTypeDocument {
  type_name: string;
  display_name: string;
  description: string;
  icon: { view_box: string; paths: string[] };
  skus: Record<SkuId, SkuDocument>;
  presets: PresetDocument[];
  /** What an empty form starts from. */
  defaults: Record<string, unknown>;
  settings_schema: JsonSchema;
}

export function resourceTypeDocument(type: ResourceTypeDefinition): ResourceTypeDocument {
  const skus = Object.fromEntries(
    SKU_IDS.map((id) => {
      const sku = type.skus[id];
      return [
        id,
        {
          display_name: sku.displayName,
          description: sku.description,
          limits: sku.limits,
          features: sku.features,
        },
      ];
    }),
  ) as Record<SkuId, SkuDocument>;
  return {
    type_name: type.name,
    display_name: type.displayName,
    description: type.description,
    icon: { view_box: type.icon.viewBox, paths: type.icon.paths },
    skus,
    presets: type.presets.map((preset) => ({
      id: preset.id,
      name: preset.name,
      description: preset.description,
      sku: preset.sku,
      settings: preset.settings as Record<string, unknown>,
    })),
    defaults: type.defaults as Record<string, unknown>,
    settings_schema: settingsJsonSchema(type),
  };
}

// ---------------------------------------------------------------------------------------------
// The resource_types table

export interface ResourceTypeSyncResult {
  inserted: string[];
  updated: string[];
  unchanged: string[];
  deactivated: string[];
}

function rowContent(type: ResourceTypeDefinition): ResourceTypeContent {
  const document = resourceTypeDocument(type);
  return {
    type_name: document.type_name,
    display_name: document.display_name,
    description: document.description,
    icon: document.icon,
    skus: document.skus,
    presets: document.presets,
    settings_schema: document.settings_schema,
    deployment_spec: type.deployment as unknown as Record<string, unknown>,
  };
}

/**
 * Brings ktrlplane.resource_types in line with the registry, in one transaction: every registered
 * type is upserted (and reactivated), every other active row is marked inactive (rows are never
 * deleted: resources of a retired type still name it). Idempotent: a second run with the same
 * registry changes no row and no updated_at. Safe when two instances start at once (the upsert
 * is ON CONFLICT on the primary key).
 */
export async function syncResourceTypes(
  db: Kysely<Database>,
  now: Date,
  types: readonly ResourceTypeDefinition[] = listResourceTypes(),
): Promise<ResourceTypeSyncResult> {
  const result: ResourceTypeSyncResult = { inserted: [], updated: [], unchanged: [], deactivated: [] };
  await db.transaction().execute(async (trx) => {
    for (const type of types) {
      const outcome = await upsertResourceTypeRow(trx, rowContent(type), now);
      result[outcome].push(type.name);
    }
    await syncResourceTypeMeters(trx, types);
    result.deactivated = await deactivateResourceTypesExcept(
      trx,
      types.map((type) => type.name),
      now,
    );
  });
  return result;
}
