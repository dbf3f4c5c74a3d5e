import { type Context, Hono } from 'hono';
import { getProjectName } from '../db/projects.repository.ts';
import { deleteDraft, getDraft, insertDraft, type ResourceDraft } from '../db/resource-drafts.repository.ts';
import { getResource } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess } from '../lib/auth-middleware.ts';
import { AppError, type FieldError } from '../lib/errors.ts';
import { type FlatFields, maskSecrets, readFormSubmission, submissionErrors } from '../lib/form-data.ts';
import { redirectAfterWrite } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { secretKeyringOf } from '../lib/secret-crypto.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import { updateResource, viewOfResource } from '../services/resources.ts';
import { Button } from '../views/components/form.tsx';
import { SchemaForm } from '../views/forms/schema-form.tsx';
import { RawSettingsEditor, ResourceSettingsPage } from '../views/pages/resource-settings-page.tsx';
import { SettingsReviewPage } from '../views/pages/resource-settings-review.tsx';
import {
  engineOptions,
  NAME_PREFIX,
  operationFragment,
  postedFields,
  resourceScope,
  reviewOfSettings,
  secretChoicesOf,
  typeOfStoredResource,
  validateOneField,
} from './resource-form-engine.tsx';

/**
 * The settings editor of a resource: the generated form, a raw JSON tab, and a review of the
 * change before it is applied. "Review changes" stores the edit as a draft and redirects to
 * `…/settings/review?draft=`, which shows a field-by-field diff against the stored settings and
 * the row the operator will read; "Apply" writes it with the version the edit was made against
 * (412 when someone changed the resource meanwhile). "Save now" writes without the review.
 */
export const resourceSettingsRoutes = new Hono<AppEnv>();

const settingsUrl = (c: Context<AppEnv>) => {
  const scope = resourceScope(c);
  return `/projects/${scope.projectId}/resources/${scope.id}/settings`;
};

/** Server errors of the whole row (`/settings_json/…`) as errors of the settings form's fields. */
function settingsFieldErrors(error: AppError): FieldError[] {
  return error.errors.map((e) => ({ ...e, pointer: e.pointer.replace(/^\/settings_json/, '') }));
}

async function ownDraft(c: Context<AppEnv>, draftId: unknown): Promise<ResourceDraft> {
  const { db, clock } = c.get('deps');
  if (typeof draftId !== 'string' || draftId === '') {
    throw new AppError(404, 'Not Found', 'There is no change to review: edit the settings first.');
  }
  return getDraft(db, resourceScope(c), currentPrincipal(c).userId, draftId, clock.now());
}

/** The draft a posted form revises (back from its review), if it names one. */
function revisedDraft(c: Context<AppEnv>, fields: FlatFields) {
  return typeof fields.draft === 'string' && fields.draft ? ownDraft(c, fields.draft) : null;
}

interface EditorState {
  /** What the form shows (stored secrets as "set — replace" markers). */
  values: unknown;
  errors?: FieldError[];
  focus?: unknown;
  saved?: boolean;
  /** Shown above the form: why a save was refused. */
  alert?: string;
  /** The generation the edit is made against. */
  generation?: number;
  /** The draft being revised (back from its review), whose secrets count as stored. */
  draftId?: string;
}

async function editorPage(c: Context<AppEnv>, state: EditorState, status = 200) {
  const { db } = c.get('deps');
  const scope = resourceScope(c);
  const row = await getResource(db, scope);
  const { schema } = typeOfStoredResource(row);
  const url = settingsUrl(c);
  const form = SchemaForm({
    schema,
    action: url,
    id: 'settings-form',
    // Enter in a field reviews rather than saves (the engine's hidden default button posts this).
    defaultSubmit: { name: 'intent', value: 'review' },
    actions: (
      <>
        <Button name="intent" value="review">
          Review changes
        </Button>
        <Button variant="secondary" name="intent" value="save">
          Save now
        </Button>
      </>
    ),
    values: state.values,
    errors: state.errors ?? [],
    ...engineOptions(url, await secretChoicesOf(c)),
    ...(state.focus ? { focus: state.focus as never } : {}),
    children: (
      <>
        {state.alert && (
          <p role="alert" class="mb-4 text-sm text-rose-600">
            {state.alert}
          </p>
        )}
        <input type="hidden" name="generation" value={String(state.generation ?? row.generation)} />
        {state.draftId && <input type="hidden" name="draft" value={state.draftId} />}
      </>
    ),
  });
  const resource = viewOfResource(row);
  const raw = RawSettingsEditor({
    action: `${url}/json`,
    generation: row.generation,
    json: JSON.stringify(resource.settings_json, null, 2),
  });
  const view = {
    resource,
    projectName: await getProjectName(db, scope),
    form,
    raw,
    ...(state.saved ? { saved: true } : {}),
  };
  return respond(c, view, ResourceSettingsPage, {
    title: `${resource.name} settings`,
    status: status as 200,
  });
}

resourceSettingsRoutes.get(
  '/projects/:projectId/resources/:resourceId/settings',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db } = c.get('deps');
    const row = await getResource(db, resourceScope(c));
    if (representationFor(c) === 'json') return c.json(viewOfResource(row).settings_json);
    const { schema } = typeOfStoredResource(row);
    const draftId = c.req.query('draft');
    if (draftId) {
      // Back from the review: the edit as it was, made against the same version.
      const draft = await ownDraft(c, draftId);
      return editorPage(c, {
        values: maskSecrets(schema, draft.settings_json),
        draftId,
        ...(draft.base_generation !== null ? { generation: draft.base_generation } : {}),
      });
    }
    return editorPage(c, {
      values: maskSecrets(schema, row.settings_json),
      saved: c.req.query('saved') === '1',
    });
  },
);

resourceSettingsRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const row = await getResource(db, scope);
    const { schema } = typeOfStoredResource(row);
    const fields = await postedFields(c);
    const revised = await revisedDraft(c, fields);
    const submission = readFormSubmission(schema, fields, {
      namePrefix: NAME_PREFIX,
      stored: revised?.settings_json ?? row.settings_json,
    });
    const posted = Number(fields.generation);
    const generation = Number.isInteger(posted) ? posted : undefined;
    const state = {
      values: submission.draft,
      ...(generation !== undefined ? { generation } : {}),
      ...(revised ? { draftId: revised.draft_id } : {}),
    };
    if (submission.operation) {
      if (representationFor(c) === 'fragment') return operationFragment(c, schema, submission);
      return editorPage(c, { ...state, focus: submission.operation.focus });
    }
    const errors = submissionErrors(schema, submission);
    if (errors.length > 0) return editorPage(c, { ...state, errors }, 422);
    const settings = schema.parse(submission.value) as Record<string, unknown>;
    const review = fields.intent === 'review';
    try {
      // A review first checks, by a dry run, that the change could be applied as it stands.
      await updateResource(
        db,
        scope,
        { settings_json: settings },
        generation,
        c.get('auditActor'),
        clock.now(),
        {
          dryRun: review,
          policy: billingPolicyOf(c.get('deps')),
          secretKeys: await secretKeyringOf(c.get('deps').config),
          secrets: 'as-given',
        },
      );
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      return editorPage(
        c,
        {
          ...state,
          errors: settingsFieldErrors(error),
          ...(error.status === 412 ? { alert: error.detail } : {}),
        },
        error.status,
      );
    }
    if (!review) return redirectAfterWrite(c, `${settingsUrl(c)}?saved=1`);
    const draftId = await insertDraft(
      db,
      scope,
      currentPrincipal(c).userId,
      {
        basics: { type: row.type, sku: row.sku, name: row.name, resource_id: row.resource_id },
        settings,
        ...(generation !== undefined ? { baseGeneration: generation } : {}),
      },
      clock.now(),
    );
    return redirectAfterWrite(c, `${settingsUrl(c)}/review?draft=${draftId}`);
  },
);

resourceSettingsRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings/validate',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db } = c.get('deps');
    const row = await getResource(db, resourceScope(c));
    const fields = await postedFields(c);
    const revised = await revisedDraft(c, fields);
    return validateOneField(
      c,
      typeOfStoredResource(row).schema,
      fields,
      revised?.settings_json ?? row.settings_json,
    );
  },
);

/** The review of an edit: what changes against the stored settings, by a dry run of the update. */
async function reviewPage(c: Context<AppEnv>, draftId: unknown, failure?: AppError) {
  const { db, clock } = c.get('deps');
  const scope = resourceScope(c);
  const draft = await ownDraft(c, draftId);
  const row = await getResource(db, scope);
  const { type } = typeOfStoredResource(row);
  const preview = await updateResource(
    db,
    scope,
    { settings_json: draft.settings_json },
    draft.base_generation ?? undefined,
    c.get('auditActor'),
    clock.now(),
    // The draft's secrets were resolved by the form (a cleared one stays cleared).
    {
      dryRun: true,
      policy: billingPolicyOf(c.get('deps')),
      secretKeys: await secretKeyringOf(c.get('deps').config),
      secrets: 'as-given',
    },
  ).catch((error: unknown) => {
    if (error instanceof AppError && error.status < 500) return error;
    throw error;
  });
  const problem = failure ?? (preview instanceof AppError ? preview : undefined);
  const view = {
    resource: viewOfResource(row),
    projectName: await getProjectName(db, scope),
    draftId: draft.draft_id,
    ...reviewOfSettings(type, draft.settings_json, row.settings_json),
    row: preview instanceof AppError ? null : (preview.row as unknown as Record<string, unknown>),
    ...(problem ? { alert: problem.detail } : {}),
  };
  if (representationFor(c) === 'json') {
    const { resource: _resource, projectName: _name, ...data } = view;
    return c.json(data, (failure?.status ?? 200) as 200);
  }
  return respond(c, view, SettingsReviewPage, {
    title: `Review changes to ${row.name}`,
    status: (failure?.status ?? 200) as 200,
  });
}

resourceSettingsRoutes.get(
  '/projects/:projectId/resources/:resourceId/settings/review',
  requireAccess('write', 'resource', 'resourceId'),
  (c) => reviewPage(c, c.req.query('draft')),
);

resourceSettingsRoutes.post(
  '/projects/:projectId/resources/:resourceId/settings/review',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const fields = (await c.req.parseBody()) as FlatFields;
    const draft = await ownDraft(c, fields.draft);
    try {
      await updateResource(
        db,
        scope,
        { settings_json: draft.settings_json },
        draft.base_generation ?? undefined,
        c.get('auditActor'),
        clock.now(),
        {
          policy: billingPolicyOf(c.get('deps')),
          secretKeys: await secretKeyringOf(c.get('deps').config),
          secrets: 'as-given',
        },
      );
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      return reviewPage(c, draft.draft_id, error);
    }
    await deleteDraft(db, draft.draft_id);
    return redirectAfterWrite(c, `${settingsUrl(c)}?saved=1`);
  },
);

resourceSettingsRoutes.post(
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
        { policy: billingPolicyOf(c.get('deps')), secretKeys: await secretKeyringOf(c.get('deps').config) },
      );
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      const errors = settingsFieldErrors(error);
      return again(error.status as 412 | 413 | 422, errors, errors.length === 0 ? error.detail : undefined);
    }
    return redirectAfterWrite(c, `${settingsUrl(c)}?saved=1`);
  },
);
