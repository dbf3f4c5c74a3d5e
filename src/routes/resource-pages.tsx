import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import { getProject, getProjectName, listProjectsForUser } from '../db/projects.repository.ts';
import { getResource } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess, requireUser } from '../lib/auth-middleware.ts';
import { AppError, type FieldError } from '../lib/errors.ts';
import {
  type FlatFields,
  type FormSubmission,
  maskSecrets,
  readFormSubmission,
  schemaErrors,
  validateField,
} from '../lib/form-data.ts';
import { redirectAfterWrite } from '../lib/forms.tsx';
import { dnsLabel } from '../lib/ids.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { getResourceType, listResourceTypes } from '../schemas/resource-types/registry.ts';
import type { ResourceTypeDefinition } from '../schemas/resource-types/resource-type.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { requireSku, settingsSchemaFor } from '../services/resource-types.ts';
import { createResource, updateResource, viewOfResource } from '../services/resources.ts';
import { renderSchemaField, SchemaForm } from '../views/forms/schema-form.tsx';
import { ProjectPickerPage } from '../views/pages/project-picker-page.tsx';
import { RawSettingsEditor, ResourceSettingsPage } from '../views/pages/resource-settings-page.tsx';
import {
  ChooseTypePage,
  ConfigurePage,
  ReviewPage,
  type WizardBasics,
} from '../views/pages/resource-wizard.tsx';

/**
 * The browser side of resources: the creation wizard and the settings editor, both generated
 * from the type's schema by the form engine (src/views/forms). The JSON API is routes/resources.
 */
export const resourcePagesRoutes = new Hono<AppEnv>();

const NAME_PREFIX = 'settings';
const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;
const resourceScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'resource'>;

/** The form engine's options for a form that posts to `formUrl`. */
function engineOptions(formUrl: string) {
  return { namePrefix: NAME_PREFIX, operationUrl: formUrl, validateUrl: `${formUrl}/validate` };
}

/** An htmx row or variant operation is answered with just the list or union it changed. */
function operationFragment(c: Context<AppEnv>, schema: z.core.$ZodType, submission: FormSubmission) {
  const operation = submission.operation;
  if (!operation) throw new Error('operationFragment needs a submission with an operation');
  const view = { values: submission.draft, focus: operation.focus, ...engineOptions(c.req.path) };
  return c.html(<>{renderSchemaField(schema, operation.target, view)}</>);
}

/** Deep link `/resources/new?resourceType=&tier=&projectId=`: straight to the wizard, or pick a project. */
resourcePagesRoutes.get('/resources/new', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const query = new URLSearchParams();
  const type = c.req.query('resourceType');
  const tier = c.req.query('tier');
  if (type) query.set('type', type);
  if (tier) query.set('sku', tier);
  const projectId = c.req.query('projectId');
  if (projectId) return c.redirect(`/projects/${encodeURIComponent(projectId)}/resources/new?${query}`, 303);
  const projects = await listProjectsForUser(db, currentPrincipal(c), clock.now());
  return respond(c, { projects, query: query.toString() }, ProjectPickerPage, { title: 'New resource' });
});

function basicsFrom(values: Record<string, unknown>): WizardBasics {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string).trim() : '');
  return {
    type: text('type'),
    sku: text('sku') || 'free',
    name: text('name'),
    resource_id: text('resource_id'),
  };
}

/** Checks step 1; answers field errors keyed by field name. */
function basicsErrors(basics: WizardBasics): Record<string, string> {
  const errors: Record<string, string> = {};
  const type = getResourceType(basics.type);
  if (!type) errors.type = 'choose a resource type';
  else if (!(basics.sku in type.skus)) errors.sku = 'choose a SKU';
  if (!basics.name) errors.name = 'enter a name';
  else if (basics.name.length > 200) errors.name = 'use at most 200 characters';
  if (basics.resource_id) {
    const problem = dnsLabel.safeParse(basics.resource_id);
    if (!problem.success) errors.resource_id = problem.error.issues[0]?.message ?? 'invalid id';
  }
  return errors;
}

async function wizardContext(c: Context<AppEnv>) {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const project = await getProject(db, scope);
  return { projectId: scope.id, projectName: project.name };
}

resourcePagesRoutes.get(
  '/projects/:projectId/resources/new',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const context = await wizardContext(c);
    const values = basicsFrom(c.req.query());
    return respond(
      c,
      { ...context, types: [...listResourceTypes()], values: { ...values, type: values.type || undefined } },
      ChooseTypePage,
      {
        title: 'New resource',
      },
    );
  },
);

function configureForm(
  c: Context<AppEnv>,
  type: ResourceTypeDefinition,
  basics: WizardBasics,
  values: unknown,
  errors: FieldError[] = [],
  focus?: unknown,
) {
  const url = `/projects/${projectScope(c).id}/resources/new/configure`;
  return (hidden: unknown) =>
    SchemaForm({
      schema: settingsSchemaFor(type, requireSku(type, basics.sku)),
      action: url,
      id: 'configure-form',
      submitLabel: 'Review',
      values,
      errors,
      ...engineOptions(url),
      ...(focus ? { focus: focus as never } : {}),
      children: hidden as never,
    });
}

function wizardType(basics: WizardBasics): ResourceTypeDefinition {
  const errors = basicsErrors(basics);
  const type = getResourceType(basics.type);
  if (!type || Object.keys(errors).length > 0) {
    throw new AppError(
      422,
      'Unprocessable Content',
      'Choose a type, a SKU and a name first.',
      Object.entries(errors).map(([field, message]) => ({ pointer: `/${field}`, message })),
    );
  }
  return type;
}

resourcePagesRoutes.get(
  '/projects/:projectId/resources/new/configure',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const context = await wizardContext(c);
    const basics = basicsFrom(c.req.query());
    const errors = basicsErrors(basics);
    const type = getResourceType(basics.type);
    if (!type || Object.keys(errors).length > 0) {
      return respond(
        c,
        { ...context, types: [...listResourceTypes()], values: basics, errors },
        ChooseTypePage,
        { title: 'New resource', status: 422 },
      );
    }
    const preset = type.presets.find((candidate) => candidate.id === c.req.query('preset'));
    const start = preset && preset.sku === basics.sku ? preset.settings : type.defaults;
    return respond(
      c,
      { ...context, type, basics, form: configureForm(c, type, basics, start) },
      ConfigurePage,
      { title: `Configure ${basics.name}` },
    );
  },
);

resourcePagesRoutes.post(
  '/projects/:projectId/resources/new/configure',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const context = await wizardContext(c);
    const fields = (await c.req.parseBody({ all: true })) as FlatFields;
    const basics = basicsFrom(fields);
    const type = wizardType(basics);
    const schema = settingsSchemaFor(type, requireSku(type, basics.sku));
    const submission = readFormSubmission(schema, fields, { namePrefix: NAME_PREFIX });
    if (submission.operation) {
      if (representationFor(c) === 'fragment') return operationFragment(c, schema, submission);
      return respond(
        c,
        {
          ...context,
          type,
          basics,
          form: configureForm(c, type, basics, submission.draft, [], submission.operation.focus),
        },
        ConfigurePage,
        {
          title: `Configure ${basics.name}`,
        },
      );
    }
    const errors = schemaErrors(schema, submission.value);
    if (errors.length > 0) {
      return respond(
        c,
        { ...context, type, basics, form: configureForm(c, type, basics, submission.draft, errors) },
        ConfigurePage,
        {
          title: `Configure ${basics.name}`,
          status: 422,
        },
      );
    }
    const settings = schema.parse(submission.value) as Record<string, unknown>;
    // The review shows exactly what create would store: a dry run through the same service.
    const preview = await createResource(
      db,
      projectScope(c),
      {
        resource_id: basics.resource_id || undefined,
        name: basics.name,
        type: type.name,
        sku: basics.sku,
        settings_json: settings,
      },
      c.get('auditActor'),
      clock.now(),
      { dryRun: true },
    ).catch((error: unknown) => {
      if (error instanceof AppError && error.status < 500) return error;
      throw error;
    });
    const review = {
      ...context,
      basics,
      maskedSettings: maskSecrets(schema, settings) as Record<string, unknown>,
      settingsJson: JSON.stringify(settings),
      row: preview instanceof AppError ? {} : (preview.row as unknown as Record<string, unknown>),
      ...(preview instanceof AppError ? { alert: preview.detail } : {}),
    };
    if (representationFor(c) === 'fragment') {
      // The review replaces the page body, not only the form that was posted.
      c.header('HX-Retarget', 'main');
      c.header('HX-Reswap', 'innerHTML');
    }
    return respond(c, review, ReviewPage, { title: `Review ${basics.name}` });
  },
);

resourcePagesRoutes.post(
  '/projects/:projectId/resources/new/configure/validate',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const fields = (await c.req.parseBody({ all: true })) as FlatFields;
    const basics = basicsFrom(fields);
    const type = wizardType(basics);
    const schema = settingsSchemaFor(type, requireSku(type, basics.sku));
    return validateOneField(c, schema, fields);
  },
);

function validateOneField(
  c: Context<AppEnv>,
  schema: ReturnType<typeof settingsSchemaFor>,
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
    ...engineOptions(c.req.path.replace(/\/validate$/, '')),
  });
  if (fragment === null) throw new AppError(400, 'Bad Request', `There is no field "${submission.field}".`);
  return c.html(<>{fragment}</>);
}

// ——— The settings editor ———

async function settingsPage(
  c: Context<AppEnv>,
  values: unknown,
  errors: FieldError[] = [],
  extra: { saved?: boolean; focus?: unknown } = {},
) {
  const { db } = c.get('deps');
  const scope = resourceScope(c);
  const row = await getResource(db, scope);
  const type = getResourceType(row.type);
  if (!type)
    throw new AppError(
      409,
      'Conflict',
      `This resource's type "${row.type}" is no longer offered; its settings can only be changed through the API.`,
    );
  const schema = settingsSchemaFor(type, requireSku(type, row.sku));
  const url = `/projects/${scope.projectId}/resources/${scope.id}/settings`;
  const form = SchemaForm({
    schema,
    action: url,
    id: 'settings-form',
    submitLabel: 'Save settings',
    values,
    errors,
    ...engineOptions(url),
    ...(extra.focus ? { focus: extra.focus as never } : {}),
    children: <input type="hidden" name="generation" value={String(row.generation)} />,
  });
  const resource = viewOfResource(row);
  const raw = RawSettingsEditor({
    action: `${url}/json`,
    generation: row.generation,
    json: JSON.stringify(resource.settings_json, null, 2),
  });
  return {
    resource,
    projectName: await getProjectName(db, scope),
    form,
    raw,
    ...(extra.saved ? { saved: true } : {}),
    schema,
    row,
  };
}

resourcePagesRoutes.get(
  '/projects/:projectId/resources/:resourceId/settings',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db } = c.get('deps');
    const row = await getResource(db, resourceScope(c));
    const type = getResourceType(row.type);
    const values = type
      ? maskSecrets(settingsSchemaFor(type, requireSku(type, row.sku)), row.settings_json)
      : row.settings_json;
    const view = await settingsPage(c, values, [], { saved: c.req.query('saved') === '1' });
    if (representationFor(c) === 'json') return c.json(view.resource.settings_json);
    return respond(c, view, ResourceSettingsPage, { title: `${view.resource.name} settings` });
  },
);

resourcePagesRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const row = await getResource(db, scope);
    const type = getResourceType(row.type);
    if (!type)
      throw new AppError(409, 'Conflict', `This resource's type "${row.type}" is no longer offered.`);
    const schema = settingsSchemaFor(type, requireSku(type, row.sku));
    const fields = (await c.req.parseBody({ all: true })) as FlatFields;
    const submission = readFormSubmission(schema, fields, {
      namePrefix: NAME_PREFIX,
      stored: row.settings_json,
    });
    if (submission.operation) {
      if (representationFor(c) === 'fragment') return operationFragment(c, schema, submission);
      return respond(
        c,
        await settingsPage(c, submission.draft, [], { focus: submission.operation.focus }),
        ResourceSettingsPage,
        { title: 'Settings' },
      );
    }
    const errors = schemaErrors(schema, submission.value);
    if (errors.length > 0)
      return respond(c, await settingsPage(c, submission.draft, errors), ResourceSettingsPage, {
        title: 'Settings',
        status: 422,
      });
    const generation = Number(fields.generation);
    try {
      await updateResource(
        db,
        scope,
        { settings_json: schema.parse(submission.value) as Record<string, unknown> },
        Number.isInteger(generation) ? generation : undefined,
        c.get('auditActor'),
        clock.now(),
      );
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      const page = await settingsPage(
        c,
        submission.draft,
        error.errors.map((e) => ({ ...e, pointer: e.pointer.replace(/^\/settings_json/, '') })),
      );
      return respond(
        c,
        {
          ...page,
          form: (
            <>
              {error.status === 412 && (
                <p role="alert" class="mb-4 text-sm text-rose-600">
                  {error.detail}
                </p>
              )}
              {page.form}
            </>
          ),
        },
        ResourceSettingsPage,
        {
          title: 'Settings',
          status: error.status,
        },
      );
    }
    return redirectAfterWrite(c, `/projects/${scope.projectId}/resources/${scope.id}/settings?saved=1`);
  },
);

resourcePagesRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings/validate',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db } = c.get('deps');
    const row = await getResource(db, resourceScope(c));
    const type = getResourceType(row.type);
    if (!type)
      throw new AppError(409, 'Conflict', `This resource's type "${row.type}" is no longer offered.`);
    const fields = (await c.req.parseBody({ all: true })) as FlatFields;
    return validateOneField(c, settingsSchemaFor(type, requireSku(type, row.sku)), fields, row.settings_json);
  },
);

resourcePagesRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings/json',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const fields = (await c.req.parseBody()) as Record<string, string>;
    const action = c.req.path;
    const generation = Number(fields.generation);
    const text = typeof fields.settings_json === 'string' ? fields.settings_json : '';
    const again = (
      status: 400 | 412 | 413 | 422,
      errors: Array<{ pointer: string; message: string }>,
      alert?: string,
    ) =>
      respond(c, null, () => RawSettingsEditor({ action, generation, json: text, errors, alert }), {
        title: 'Settings',
        status,
      });
    let settings: unknown;
    try {
      settings = JSON.parse(text);
    } catch (error) {
      return again(400, [], `This is not valid JSON: ${(error as Error).message}`);
    }
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
      return again(422, [{ pointer: '', message: 'settings must be a JSON object' }]);
    }
    try {
      await updateResource(
        db,
        scope,
        { settings_json: settings as Record<string, unknown> },
        Number.isInteger(generation) ? generation : undefined,
        c.get('auditActor'),
        clock.now(),
      );
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      const errors = error.errors.map((e) => ({ ...e, pointer: e.pointer.replace(/^\/settings_json/, '') }));
      return again(error.status as 412 | 413 | 422, errors, errors.length === 0 ? error.detail : undefined);
    }
    return redirectAfterWrite(c, `/projects/${scope.projectId}/resources/${scope.id}/settings?saved=1`);
  },
);
