import type { Context } from 'hono';
import type { z } from 'zod';
import type { Resource } from '../db/types.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { AppError } from '../lib/errors.ts';
import { type FlatFields, type FormSubmission, readFormSubmission, validateField } from '../lib/form-data.ts';
import { diffSettings } from '../lib/settings-diff.ts';
import { getResourceType } from '../schemas/resource-types/registry.ts';
import type { ResourceTypeDefinition } from '../schemas/resource-types/resource-type.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { requireSku, settingsSchemaFor } from '../services/resource-types.ts';
import { maskSecrets, maskSecretsAgainst } from '../services/secret-settings.ts';
import { secretChoices } from '../services/secrets.ts';
import type { SecretChoice } from '../views/forms/field-chrome.tsx';
import { renderSchemaField } from '../views/forms/schema-form.tsx';

/**
 * What the wizard and the settings editor share: how they drive the form engine
 * (src/views/forms), answer its htmx row/variant operations and inline validation, and mask
 * settings for the review pages.
 */

/** Every generated settings field is named `settings.…`; other posted fields are the page's own. */
export const NAME_PREFIX = 'settings';

export const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;
export const resourceScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'resource'>;

/** The form engine's options for a form that posts to `formUrl`. */
export function engineOptions(formUrl: string, choices: readonly SecretChoice[] = []) {
  return {
    namePrefix: NAME_PREFIX,
    operationUrl: formUrl,
    validateUrl: `${formUrl}/validate`,
    secretChoices: choices,
  };
}

/** The Secrets of the project the request is in, for secret fields' "use a Secret" picker. */
export function secretChoicesOf(c: Context<AppEnv>): Promise<SecretChoice[]> {
  return secretChoices(c.get('deps').db, c.get('scope') as AuthorizedScope<'project' | 'resource'>);
}

/** The posted form fields, every value of a repeated name kept. */
export async function postedFields(c: Context<AppEnv>): Promise<FlatFields> {
  return (await c.req.parseBody({ all: true })) as FlatFields;
}

/** An htmx row or variant operation is answered with just the list or union it changed. */
export async function operationFragment(
  c: Context<AppEnv>,
  schema: z.core.$ZodType,
  submission: FormSubmission,
) {
  const operation = submission.operation;
  if (!operation) throw new Error('operationFragment needs a submission with an operation');
  const view = {
    values: submission.draft,
    focus: operation.focus,
    ...engineOptions(c.req.path, await secretChoicesOf(c)),
  };
  return c.html(<>{renderSchemaField(schema, operation.target, view)}</>);
}

/** Inline validation of one field (`__field`): answers that field re-rendered with its errors. */
export async function validateOneField(
  c: Context<AppEnv>,
  schema: z.core.$ZodType,
  fields: FlatFields,
  stored?: unknown,
) {
  const submission = readFormSubmission(schema, fields, {
    namePrefix: NAME_PREFIX,
    ...(stored ? { stored } : {}),
  });
  if (!submission.field) throw new AppError(400, 'Bad Request', 'Say which field to validate (__field).');
  const errors = validateField(schema, submission, submission.field, { namePrefix: NAME_PREFIX });
  // The answer keeps the field's own validation attributes, so the next change validates again.
  const fragment = renderSchemaField(schema, submission.field, {
    values: submission.draft,
    errors,
    ...engineOptions(c.req.path.replace(/\/validate$/, ''), await secretChoicesOf(c)),
  });
  if (fragment === null) throw new AppError(400, 'Bad Request', `There is no field "${submission.field}".`);
  return c.html(<>{fragment}</>);
}

/** The type and settings schema of a stored resource; 409 when its type is no longer offered. */
export function typeOfStoredResource(row: Resource): {
  type: ResourceTypeDefinition;
  schema: ReturnType<typeof settingsSchemaFor>;
} {
  const type = getResourceType(row.type);
  if (!type) {
    throw new AppError(
      409,
      'Conflict',
      `This resource's type "${row.type}" is no longer offered; its settings can only be changed through the API.`,
    );
  }
  return { type, schema: settingsSchemaFor(type, requireSku(type, row.sku)) };
}

/**
 * Settings as a review page shows them, and their diff against `previous` (the stored settings,
 * or the type's defaults for a new resource): every secret value replaced by a marker that says
 * whether it is new, so the diff shows a secret changing without showing either value.
 */
export function reviewOfSettings(
  type: ResourceTypeDefinition,
  settings: Record<string, unknown>,
  previous: Record<string, unknown>,
) {
  const patterns = type.deployment.secret_settings;
  const masked = maskSecretsAgainst(settings, previous, patterns) as Record<string, unknown>;
  const before = maskSecrets(previous, patterns) as Record<string, unknown>;
  return { maskedSettings: masked, changes: diffSettings(before, masked) };
}
