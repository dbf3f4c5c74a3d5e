import { type Context, Hono } from 'hono';
import { getOrganizationName } from '../db/organizations.repository.ts';
import { getProject, getProjectName } from '../db/projects.repository.ts';
import { latestEventId, recentResourceEvents } from '../db/resource-deployments.repository.ts';
import { getResource, listResourcesInProject } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireAccess } from '../lib/auth-middleware.ts';
import { AppError, badRequest } from '../lib/errors.ts';
import { fieldErrors, redirectAfterWrite } from '../lib/forms.tsx';
import { parseInput, readBody, readBodyOrQuery } from '../lib/input.ts';
import { withIsoTimestamps } from '../lib/json.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { secretKeyringOf } from '../lib/secret-crypto.ts';
import { createResourceInput, updateResourceInput } from '../schemas/resources.ts';
import { confirmDeleteInput } from '../schemas/tenancy.ts';
import { billingPolicyOf } from '../services/billing/policy.ts';
import { summarizeDeployment } from '../services/deployment-status.ts';
import { idempotent } from '../services/idempotency.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import {
  createResource,
  etagOf,
  parseIfMatch,
  removeResource,
  updateResource,
  viewOfResource,
  type WriteResult,
} from '../services/resources.ts';
import { deleteResourceForm, ResourceDetailPage, ResourceListPage } from '../views/pages/resource-pages.tsx';

/**
 * Resources of a project: the rows db-query-operator reads. JSON bodies use the column names
 * ({resource_id?, name, type, sku, settings_json} in, the row out); secrets never come back out.
 */
export const resourcesRoutes = new Hono<AppEnv>();

/** Status transitions the resource page shows; its event stream adds newer ones live. */
const TIMELINE_LENGTH = 20;

const projectScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'project'>;
const resourceScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'resource'>;

/** The wizard's review step posts settings_json as a JSON string in a form field. */
function settingsFromForm(body: unknown): unknown {
  const record = body as Record<string, unknown>;
  if (typeof record?.settings_json !== 'string') return body;
  try {
    return { ...record, settings_json: JSON.parse(record.settings_json) };
  } catch {
    throw badRequest('settings_json is not valid JSON.');
  }
}

function wantsDryRun(c: Context<AppEnv>): boolean {
  return c.req.query('dryRun') === 'true';
}

function writeAnswer(result: WriteResult) {
  return result.dryRun ? { dry_run: true, row: result.row, diff: result.diff } : result.row;
}

resourcesRoutes.get(
  '/projects/:projectId/resources',
  requireAccess('read', 'project', 'projectId'),
  async (c) => {
    const { db, clock, config } = c.get('deps');
    const scope = projectScope(c);
    const resources = (await listResourcesInProject(db, scope)).map(viewOfResource);
    // The same JSON, with the timestamps written ahead of JSON.stringify (lib/json.ts says why).
    if (representationFor(c) === 'json') return c.json(resources.map(withIsoTimestamps));
    const [project, organizationName, eventsAfter] = await Promise.all([
      getProject(db, scope),
      getOrganizationName(db, scope),
      latestEventId(db),
    ]);
    const now = clock.now();
    const summaries = Object.fromEntries(
      resources.map((r) => [r.resource_id, summarizeDeployment(r, now, config.STUCK_AFTER_SECONDS)]),
    );
    return respond(
      c,
      {
        project,
        organizationName,
        resources,
        canCreate: scope.actions.has('write'),
        live: { summaries, eventsAfter, now },
      },
      ResourceListPage,
      { title: `${project.name} resources` },
    );
  },
);

resourcesRoutes.post(
  '/projects/:projectId/resources',
  requireAccess('write', 'project', 'projectId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = projectScope(c);
    const body = settingsFromForm(await readBody(c));
    const input = parseInput(createResourceInput, body);
    const dryRun = wantsDryRun(c);
    const create = async (trx: typeof db) => {
      const result = await createResource(trx, scope, input, c.get('auditActor'), clock.now(), {
        dryRun,
        policy: billingPolicyOf(c.get('deps')),
        secretKeys: await secretKeyringOf(c.get('deps').config),
      });
      return { status: dryRun ? 200 : 201, body: writeAnswer(result) };
    };
    const key = c.req.header('Idempotency-Key');
    const answer =
      key && !dryRun
        ? await idempotent(
            db,
            { userId: currentPrincipal(c).userId, key, method: 'POST', path: c.req.path, body },
            clock.now(),
            create,
          )
        : { ...(await create(db)), replayed: false };
    if (answer.replayed) c.header('Idempotent-Replayed', 'true');
    const created = answer.body as { resource_id?: string; generation?: number };
    if (!dryRun && created.generation !== undefined)
      c.header('ETag', etagOf({ generation: created.generation }));
    if (representationFor(c) === 'json') return c.json(answer.body as object, answer.status as 200 | 201);
    return redirectAfterWrite(c, `/projects/${scope.id}/resources/${created.resource_id}`);
  },
);

resourcesRoutes.get(
  '/projects/:projectId/resources/:resourceId',
  requireAccess('read', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock, config } = c.get('deps');
    const scope = resourceScope(c);
    const resource = viewOfResource(await getResource(db, scope));
    c.header('ETag', etagOf(resource));
    if (representationFor(c) === 'json') return c.json(resource);
    const [projectName, timeline] = await Promise.all([
      getProjectName(db, scope),
      recentResourceEvents(db, scope, TIMELINE_LENGTH),
    ]);
    const now = clock.now();
    const summary = summarizeDeployment(resource, now, config.STUCK_AFTER_SECONDS);
    return respond(
      c,
      { resource, projectName, permissions: [...scope.actions], live: { summary, timeline, now } },
      ResourceDetailPage,
      { title: resource.name },
    );
  },
);

resourcesRoutes.patch(
  '/projects/:projectId/resources/:resourceId',
  requireAccess('write', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const input = parseInput(updateResourceInput, await readBody(c));
    const result = await updateResource(
      db,
      scope,
      input,
      parseIfMatch(c.req.header('If-Match')),
      c.get('auditActor'),
      clock.now(),
      {
        dryRun: wantsDryRun(c),
        policy: billingPolicyOf(c.get('deps')),
        secretKeys: await secretKeyringOf(c.get('deps').config),
      },
    );
    if (!result.dryRun) c.header('ETag', etagOf(result.row));
    if (representationFor(c) === 'json') return c.json(writeAnswer(result));
    return redirectAfterWrite(c, `/projects/${scope.projectId}/resources/${scope.id}`);
  },
);

resourcesRoutes.delete(
  '/projects/:projectId/resources/:resourceId',
  requireAccess('delete', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock } = c.get('deps');
    const scope = resourceScope(c);
    const input = await readBodyOrQuery(c);
    const confirm = confirmDeleteInput.safeParse(input);
    let remaining: Awaited<ReturnType<typeof removeResource>>;
    try {
      remaining = await removeResource(
        db,
        scope,
        confirm.success ? confirm.data.confirm : '',
        parseIfMatch(c.req.header('If-Match')),
        c.get('auditActor'),
        clock.now(),
      );
    } catch (error) {
      if (error instanceof AppError && error.status === 422 && representationFor(c) !== 'json') {
        const resource = viewOfResource(await getResource(db, scope));
        const deleteErrors = fieldErrors(error.errors);
        const body =
          representationFor(c) === 'fragment'
            ? deleteResourceForm(resource, deleteErrors)
            : ResourceDetailPage({
                resource,
                projectName: await getProjectName(db, scope),
                permissions: [...scope.actions],
                deleteErrors,
              });
        return respond(c, null, () => body, { title: resource.name, status: 422 });
      }
      throw error;
    }
    // 202 while the operator prunes the workload (the row shows Deleting); 204 when it is gone.
    if (representationFor(c) === 'json') return remaining ? c.json(remaining, 202) : c.body(null, 204);
    return redirectAfterWrite(c, `/projects/${scope.projectId}/resources`);
  },
);
