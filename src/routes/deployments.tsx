import { type Context, Hono } from 'hono';
import { latestHealthCheck } from '../db/health-checks.repository.ts';
import { getProjectName } from '../db/projects.repository.ts';
import { recentResourceEvents } from '../db/resource-deployments.repository.ts';
import { getResource } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { AppError } from '../lib/errors.ts';
import { redirectAfterWrite } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { summarizeDeployment } from '../services/deployment-status.ts';
import { deployResource, undeployResource } from '../services/deployments.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { viewOfResource } from '../services/resources.ts';
import { ResourceDeploymentPage } from '../views/pages/resource-deployment-page.tsx';

/**
 * The deployment of a resource (also under /api/v1): `GET /resources/:resourceId/deployment`
 * (status, since, generation and observed generation, stuck, health, history), `POST
 * …/deploy` (deploy again, or after an undeploy), `DELETE …/deployment` (undeploy; `POST
 * …/undeploy` is the same for HTML forms). Each path also exists under
 * /projects/:projectId/resources/:resourceId, which checks the resource is in that project.
 */
export const deploymentRoutes = new Hono<AppEnv>();

const HISTORY_LENGTH = 50;
const resourceScope = (c: Context<AppEnv>) => c.get('scope') as AuthorizedScope<'resource'>;
const both = (suffix: string) => [
  `/resources/:resourceId${suffix}`,
  `/projects/:projectId/resources/:resourceId${suffix}`,
];

async function deploymentOf(c: Context<AppEnv>) {
  const { db, clock, config } = c.get('deps');
  const scope = resourceScope(c);
  const current = await getResource(db, scope);
  const [history, health] = await Promise.all([
    recentResourceEvents(db, scope, HISTORY_LENGTH),
    latestHealthCheck(db, scope),
  ]);
  return {
    resource: viewOfResource(current),
    deployment: summarizeDeployment(current, clock.now(), config.STUCK_AFTER_SECONDS),
    history,
    health: health ?? null,
  };
}

async function answer(c: Context<AppEnv>, status: 200 | 202 | 409, alert?: string) {
  const { db } = c.get('deps');
  const scope = resourceScope(c);
  const data = await deploymentOf(c);
  if (representationFor(c) === 'json') {
    const { resource, deployment, history, health } = data;
    return c.json(
      { resource_id: resource.resource_id, project_id: resource.project_id, ...deployment, health, history },
      status,
    );
  }
  return respond(
    c,
    {
      ...data,
      projectName: await getProjectName(db, scope),
      canDeploy: scope.actions.has('write'),
      ...(alert ? { alert } : {}),
    },
    ResourceDeploymentPage,
    { title: `${data.resource.name} deployment`, status },
  );
}

for (const path of both('/deployment')) {
  deploymentRoutes.get(path, requireAccess('read', 'resource', 'resourceId'), (c) => answer(c, 200));
}

/** Runs a deployment change; a browser sees the page again (with the conflict, if any). */
async function change(c: Context<AppEnv>, work: () => Promise<unknown>) {
  try {
    await work();
  } catch (error) {
    if (error instanceof AppError && error.status === 409 && representationFor(c) !== 'json') {
      return answer(c, 409, error.detail);
    }
    throw error;
  }
  if (representationFor(c) === 'json') return answer(c, 202);
  const scope = resourceScope(c);
  return redirectAfterWrite(c, `/resources/${scope.id}/deployment`);
}

for (const path of both('/deploy')) {
  deploymentRoutes.post(path, requireAccess('write', 'resource', 'resourceId'), (c) => {
    const { db, clock, config } = c.get('deps');
    return change(c, () =>
      deployResource(db, resourceScope(c), c.get('auditActor'), clock.now(), config.STUCK_AFTER_SECONDS),
    );
  });
}

for (const [method, path] of [
  ...both('/deployment').map((p) => ['delete', p] as const),
  ...both('/undeploy').map((p) => ['post', p] as const),
]) {
  deploymentRoutes[method](path, requireAccess('write', 'resource', 'resourceId'), (c) => {
    const { db, clock } = c.get('deps');
    return change(c, () => undeployResource(db, resourceScope(c), c.get('auditActor'), clock.now()));
  });
}
