import { type Context, Hono } from 'hono';
import { getOrganizationName } from '../db/organizations.repository.ts';
import { getProjectName } from '../db/projects.repository.ts';
import { getResource } from '../db/resources.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { requireAccess } from '../lib/auth-middleware.ts';
import { unprocessable } from '../lib/errors.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { controlPlaneMetrics, METRIC_RANGES, parseMetricRange } from '../services/metrics/control-plane.ts';
import { prometheusConfigured } from '../services/metrics/prometheus.ts';
import { PromqlScopeError, scopePromql } from '../services/metrics/promql-scope.ts';
import { resourceCharts } from '../services/metrics/resource-metrics.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { viewOfResource } from '../services/resources.ts';
import { ControlPlaneMonitoringPage, ResourceMonitoringPage } from '../views/pages/monitoring-pages.tsx';

/**
 * Monitoring (also under /api/v1; `?range=1h|6h|24h|7d`, default 24h):
 * - GET /organizations/:orgId/monitoring and /projects/:projectId/monitoring: the control-plane
 *   series (resource health, deployments by status, API usage, error rate, latency) — the charts
 *   for a browser, the series for JSON. Reading needs `read` on the scope.
 * - GET /projects/:projectId/resources/:resourceId/monitoring: the resource's CPU, memory and
 *   network (and `?query=` custom PromQL) from PROMETHEUS_URL, always confined to the resource's
 *   labels; a custom query that is malformed or names other labels answers 422 with its position.
 */
export const monitoringRoutes = new Hono<AppEnv>();

async function controlPlane(
  c: Context<AppEnv>,
  scope: AuthorizedScope<'organization'> | AuthorizedScope<'project'>,
) {
  const { db, clock } = c.get('deps');
  const range = parseMetricRange(c.req.query('range'));
  const metrics = await controlPlaneMetrics(db, scope, range, clock.now());
  if (representationFor(c) === 'json') return c.json(metrics);
  const [orgName, name] = await Promise.all([
    getOrganizationName(db, scope),
    scope.type === 'project' ? getProjectName(db, scope as AuthorizedScope<'project'>) : Promise.resolve(''),
  ]);
  return respond(
    c,
    {
      scope: {
        type: scope.type,
        id: scope.id,
        name: scope.type === 'project' ? name : orgName,
        orgId: scope.orgId,
        orgName,
      },
      permissions: [...scope.actions],
      metrics,
    },
    ControlPlaneMonitoringPage,
    { title: 'Monitoring' },
  );
}

monitoringRoutes.get(
  '/organizations/:orgId/monitoring',
  requireAccess('read', 'organization', 'orgId'),
  (c) => controlPlane(c, c.get('scope') as AuthorizedScope<'organization'>),
);

monitoringRoutes.get('/projects/:projectId/monitoring', requireAccess('read', 'project', 'projectId'), (c) =>
  controlPlane(c, c.get('scope') as AuthorizedScope<'project'>),
);

monitoringRoutes.get(
  '/projects/:projectId/resources/:resourceId/monitoring',
  requireAccess('read', 'resource', 'resourceId'),
  async (c) => {
    const { db, clock, config } = c.get('deps');
    const scope = c.get('scope') as AuthorizedScope<'resource'>;
    const resource = viewOfResource(await getResource(db, scope));
    const range = parseMetricRange(c.req.query('range'));
    const custom = (c.req.query('query') ?? '').trim();
    const now = clock.now();
    const connected = prometheusConfigured(config);
    const tenant = { projectId: resource.project_id, resourceId: resource.resource_id };
    let customError: string | undefined;
    if (custom) {
      try {
        scopePromql(custom, { project_id: tenant.projectId, resource_id: tenant.resourceId });
      } catch (error) {
        if (!(error instanceof PromqlScopeError)) throw error;
        customError = `${error.message} (at character ${error.position + 1})`;
        if (representationFor(c) === 'json')
          throw unprocessable([{ pointer: '/query', message: customError }]);
      }
    }
    const charts = connected
      ? await resourceCharts(config, tenant, range, now, customError ? undefined : custom || undefined)
      : [];
    const from = new Date(now.getTime() - METRIC_RANGES[range].ms);
    if (representationFor(c) === 'json') {
      return c.json({ resource_id: resource.resource_id, range, from, to: now, connected, charts });
    }
    return respond(
      c,
      {
        resource,
        projectName: await getProjectName(db, scope),
        range,
        connected,
        charts,
        from,
        to: now,
        custom,
        ...(customError ? { customError } : {}),
      },
      ResourceMonitoringPage,
      { title: `${resource.name} monitoring`, status: customError ? 422 : 200 },
    );
  },
);
