import { type Context, Hono } from 'hono';
import { getProject, listProjectsForUser } from '../db/projects.repository.ts';
import { completeDraft, getDraft, insertDraft, lockDraft } from '../db/resource-drafts.repository.ts';
import { withTransaction } from '../db/transaction.ts';
import type { WizardBasicsJson } from '../db/types.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess, requireUser } from '../lib/auth-middleware.ts';
import { AppError, type FieldError } from '../lib/errors.ts';
import { type FlatFields, maskSecrets, readFormSubmission, submissionErrors } from '../lib/form-data.ts';
import { redirectAfterWrite } from '../lib/forms.tsx';
import { dnsLabel } from '../lib/ids.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { secretKeyringOf } from '../lib/secret-crypto.ts';
import { getResourceType, listResourceTypes } from '../schemas/resource-types/registry.ts';
import type { ResourceTypeDefinition } from '../schemas/resource-types/resource-type.ts';
import { canonicalTypeId } from '../schemas/resource-types/type-ids.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import { actionsOn } from '../services/rbac.ts';
import { requireSku, settingsSchemaFor } from '../services/resource-types.ts';
import { createResource } from '../services/resources.ts';
import { SchemaForm } from '../views/forms/schema-form.tsx';
import { ProjectPickerPage } from '../views/pages/project-picker-page.tsx';
import { ChooseTypePage, ConfigurePage, ReviewPage } from '../views/pages/resource-wizard.tsx';
import {
  engineOptions,
  NAME_PREFIX,
  operationFragment,
  postedFields,
  projectScope,
  reviewOfSettings,
  secretChoicesOf,
  validateOneField,
} from './resource-form-engine.tsx';

/**
 * The resource creation wizard. Every step is a URL: 1 `…/resources/new` (type, SKU, name, id),
 * 2 `…/new/configure` (the form generated from the type's schema, or a preset), 3
 * `…/new/review?draft=` (the settings as YAML/JSON, the row the operator will read, what differs
 * from the type's defaults), then create. Step 2 posts into a draft (ktrlplane.resource_drafts)
 * and redirects to the review, so reload and the back button work and no setting — secrets
 * included — ever travels in a URL or comes back into the page.
 */
export const resourceWizardRoutes = new Hono<AppEnv>();

/**
 * Deep links into the wizard from outside a project: `/resources/create?resource_type=&sku=`
 * (what konnektr-io/home and the Graph Explorer link to; the Go service's path) and the older
 * `/resources/new?resourceType=&tier=&projectId=`. With a project named, or only one project the
 * caller may create resources in, straight to its wizard with type and SKU chosen; otherwise a
 * picker of those projects. Signed out, the sign-in page brings the caller back here (the error
 * handler's redirect keeps the query). Other query parameters (utm_…) are dropped.
 */
async function wizardDeepLink(c: Context<AppEnv>) {
  const { db, clock } = c.get('deps');
  const principal = currentPrincipal(c);
  const query = new URLSearchParams();
  const type = c.req.query('resource_type') ?? c.req.query('resourceType') ?? c.req.query('type');
  const sku = c.req.query('sku') ?? c.req.query('tier');
  if (type) query.set('type', canonicalTypeId(type));
  if (sku) query.set('sku', sku);
  const wizard = (projectId: string) =>
    `/projects/${encodeURIComponent(projectId)}/resources/new${query.size > 0 ? `?${query}` : ''}`;
  const projectId = c.req.query('project_id') ?? c.req.query('projectId');
  if (projectId) return c.redirect(wizard(projectId), 303);
  const now = clock.now();
  const readable = await listProjectsForUser(db, principal, now);
  const writable = [];
  for (const project of readable) {
    if ((await actionsOn(db, principal, 'project', project.project_id, now)).includes('write')) {
      writable.push(project);
    }
  }
  const only = writable.length === 1 ? writable[0] : undefined;
  if (only) return c.redirect(wizard(only.project_id), 303);
  return respond(c, { projects: writable, query: query.toString() }, ProjectPickerPage, {
    title: 'New resource',
  });
}

resourceWizardRoutes.get('/resources/create', requireUser(), wizardDeepLink);
resourceWizardRoutes.get('/resources/new', requireUser(), wizardDeepLink);

function basicsFrom(values: Record<string, unknown>): WizardBasicsJson {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string).trim() : '');
  return {
    // A deprecated type id (old links) becomes the current one, so the type step shows it chosen.
    type: canonicalTypeId(text('type')),
    sku: text('sku') || 'free',
    name: text('name'),
    resource_id: text('resource_id'),
  };
}

/** Checks step 1; answers field errors keyed by field name. */
function basicsErrors(basics: WizardBasicsJson): Record<string, string> {
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

/** The type step 1 chose; 422 naming what is missing when it is incomplete. */
function wizardType(basics: WizardBasicsJson): ResourceTypeDefinition {
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

async function wizardContext(c: Context<AppEnv>) {
  const { db } = c.get('deps');
  const scope = projectScope(c);
  const project = await getProject(db, scope);
  return { projectId: scope.id, projectName: project.name };
}

/** The caller's create draft named by `draft` (query or form field), or 404. */
async function ownDraft(c: Context<AppEnv>, draftId: unknown) {
  const { db, clock } = c.get('deps');
  if (typeof draftId !== 'string' || draftId === '') {
    throw new AppError(404, 'Not Found', 'There is nothing to review yet: fill in the configuration first.');
  }
  return getDraft(db, projectScope(c), currentPrincipal(c).userId, draftId, clock.now());
}

/** The draft a posted form revises (back from its review), if it names one. */
function revisedDraft(c: Context<AppEnv>, fields: FlatFields) {
  return typeof fields.draft === 'string' && fields.draft ? ownDraft(c, fields.draft) : null;
}

resourceWizardRoutes.get(
  '/projects/:projectId/resources/new',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const context = await wizardContext(c);
    const values = basicsFrom(c.req.query());
    return respond(
      c,
      { ...context, types: [...listResourceTypes()], values: { ...values, type: values.type || undefined } },
      ChooseTypePage,
      { title: 'New resource' },
    );
  },
);

interface ConfigureState {
  type: ResourceTypeDefinition;
  basics: WizardBasicsJson;
  /** What the form shows (stored secrets as "set — replace" markers). */
  values: unknown;
  errors?: FieldError[];
  focus?: unknown;
  /** The draft being revised, whose secrets count as stored. */
  draftId?: string;
}

type WizardContext = Awaited<ReturnType<typeof wizardContext>>;

async function configurePage(
  c: Context<AppEnv>,
  context: WizardContext,
  state: ConfigureState,
  status: 200 | 422 = 200,
) {
  const url = `/projects/${projectScope(c).id}/resources/new/configure`;
  const choices = await secretChoicesOf(c);
  const form = (hidden: unknown) =>
    SchemaForm({
      schema: settingsSchemaFor(state.type, requireSku(state.type, state.basics.sku)),
      action: url,
      id: 'configure-form',
      submitLabel: 'Review',
      values: state.values,
      errors: state.errors ?? [],
      ...engineOptions(url, choices),
      ...(state.focus ? { focus: state.focus as never } : {}),
      children: (
        <>
          {hidden}
          {state.draftId && <input type="hidden" name="draft" value={state.draftId} />}
        </>
      ) as never,
    });
  return respond(c, { ...context, type: state.type, basics: state.basics, form }, ConfigurePage, {
    title: `Configure ${state.basics.name}`,
    status,
  });
}

resourceWizardRoutes.get(
  '/projects/:projectId/resources/new/configure',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const context = await wizardContext(c);
    const draftId = c.req.query('draft');
    if (draftId) {
      // Back from the review: the draft's settings, its secrets shown as set.
      const draft = await ownDraft(c, draftId);
      const type = wizardType(draft.basics);
      const schema = settingsSchemaFor(type, requireSku(type, draft.basics.sku));
      return configurePage(c, context, {
        type,
        basics: draft.basics,
        values: maskSecrets(schema, draft.settings_json),
        draftId,
      });
    }
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
    return configurePage(c, context, { type, basics, values: start });
  },
);

resourceWizardRoutes.post(
  '/projects/:projectId/resources/new/configure',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const context = await wizardContext(c);
    const fields = await postedFields(c);
    const basics = basicsFrom(fields);
    const type = wizardType(basics);
    const schema = settingsSchemaFor(type, requireSku(type, basics.sku));
    const revised = await revisedDraft(c, fields);
    const submission = readFormSubmission(schema, fields, {
      namePrefix: NAME_PREFIX,
      ...(revised ? { stored: revised.settings_json } : {}),
    });
    const state = {
      type,
      basics,
      values: submission.draft,
      ...(revised ? { draftId: revised.draft_id } : {}),
    };
    if (submission.operation) {
      if (representationFor(c) === 'fragment') return operationFragment(c, schema, submission);
      return configurePage(c, context, { ...state, focus: submission.operation.focus });
    }
    const errors = submissionErrors(schema, submission);
    if (errors.length > 0) return configurePage(c, context, { ...state, errors }, 422);
    const settings = schema.parse(submission.value) as Record<string, unknown>;
    const draftId = await insertDraft(
      db,
      projectScope(c),
      currentPrincipal(c).userId,
      { basics, settings },
      clock.now(),
    );
    return redirectAfterWrite(c, `/projects/${projectScope(c).id}/resources/new/review?draft=${draftId}`);
  },
);

resourceWizardRoutes.post(
  '/projects/:projectId/resources/new/configure/validate',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const fields = await postedFields(c);
    const basics = basicsFrom(fields);
    const type = wizardType(basics);
    const revised = await revisedDraft(c, fields);
    return validateOneField(
      c,
      settingsSchemaFor(type, requireSku(type, basics.sku)),
      fields,
      revised?.settings_json,
    );
  },
);

/** The review of a draft: a dry run of the create, so it shows exactly what would be stored. */
async function reviewPage(c: Context<AppEnv>, draftId: unknown, failure?: AppError) {
  const { db, clock } = c.get('deps');
  const context = await wizardContext(c);
  const draft = await ownDraft(c, draftId);
  if (draft.completed_resource_id && !failure) {
    // Already created (back button, reload): the review is over; show what it made.
    return c.redirect(`/projects/${projectScope(c).id}/resources/${draft.completed_resource_id}`, 303);
  }
  const type = wizardType(draft.basics);
  const preview = await createResource(
    db,
    projectScope(c),
    {
      ...draft.basics,
      resource_id: draft.basics.resource_id || undefined,
      settings_json: draft.settings_json,
    },
    c.get('auditActor'),
    clock.now(),
    {
      dryRun: true,
      policy: billingPolicyOf(c.get('deps')),
      secretKeys: await secretKeyringOf(c.get('deps').config),
    },
  ).catch((error: unknown) => {
    if (error instanceof AppError && error.status < 500) return error;
    throw error;
  });
  const problem = failure ?? (preview instanceof AppError ? preview : undefined);
  const review = {
    ...context,
    basics: draft.basics,
    draftId: draft.draft_id,
    ...reviewOfSettings(type, draft.settings_json, type.defaults as Record<string, unknown>),
    row: preview instanceof AppError ? {} : (preview.row as unknown as Record<string, unknown>),
    ...(problem ? { alert: problem.detail } : {}),
    ...(typeof problem?.extensions.billing_url === 'string'
      ? { billingUrl: problem.extensions.billing_url }
      : {}),
  };
  return respond(c, review, ReviewPage, {
    title: `Review ${draft.basics.name}`,
    status: (failure?.status ?? 200) as 200,
  });
}

resourceWizardRoutes.get(
  '/projects/:projectId/resources/new/review',
  requireAccess('write', 'project', 'projectId'),
  (c) => reviewPage(c, c.req.query('draft')),
);

resourceWizardRoutes.post(
  '/projects/:projectId/resources/new/review',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = projectScope(c);
    const fields = (await c.req.parseBody()) as FlatFields;
    const draft = await ownDraft(c, fields.draft);
    try {
      const resourceId = await withTransaction(db, async (trx) => {
        // A second click waits here for the first, then finds the resource the first one made.
        const already = await lockDraft(trx, draft.draft_id);
        if (already) return already;
        const created = await createResource(
          trx,
          scope,
          {
            ...draft.basics,
            resource_id: draft.basics.resource_id || undefined,
            settings_json: draft.settings_json,
          },
          c.get('auditActor'),
          clock.now(),
          { policy: billingPolicyOf(c.get('deps')), secretKeys: await secretKeyringOf(c.get('deps').config) },
        );
        await completeDraft(trx, draft.draft_id, created.row.resource_id);
        return created.row.resource_id;
      });
      return redirectAfterWrite(c, `/projects/${scope.id}/resources/${resourceId}`);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      return reviewPage(c, draft.draft_id, error);
    }
  },
);
