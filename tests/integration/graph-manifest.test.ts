import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DatabaseQueryResource,
  loadDatabaseQueryResources,
} from '../../scripts/operator-simulator/manifests.ts';
import { getResourceType } from '../../src/schemas/resource-types/registry.ts';
import { GRAPH_TYPE_ID } from '../../src/schemas/resource-types/type-ids.ts';
import { createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import {
  byName,
  graphSettings,
  insertResource,
  OPERATOR_MANIFESTS_DIR,
  renderRow,
  runManifestQuery,
} from '../helpers/operator.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * deploy/operator/digitaltwins.yaml deploys a Graph the way production does (konnektr-io/infra
 * graph-dbqr.yaml, konnektr-io/charts graph): the chart version whose API authenticates callers
 * and asks ktrlplane's permission check with an M2M token. Rendered with the operator
 * simulator's Go-template subset from rows of the migrated database.
 */
describe('graph HelmRelease', () => {
  const t = useTestApp();
  let manifests: DatabaseQueryResource[];
  beforeAll(async () => {
    manifests = await loadDatabaseQueryResources(OPERATOR_MANIFESTS_DIR);
  });

  async function releases() {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Shop', 'shop');
    await insertResource(t, {
      resource_id: 'big',
      project_id: 'shop',
      type: GRAPH_TYPE_ID,
      settings: graphSettings,
    });
    await insertResource(t, {
      resource_id: 'quiet',
      project_id: 'shop',
      type: GRAPH_TYPE_ID,
      settings: { ...graphSettings, eventRoutes: [] },
    });
    await insertResource(t, {
      resource_id: 'tiny',
      project_id: 'shop',
      type: GRAPH_TYPE_ID,
      sku: 'free',
      settings: { instances: 1 },
    });
    const manifest = byName(manifests, 'ktrlplane-digitaltwins');
    const rows = await runManifestQuery(t.database.db, manifest);
    return Object.fromEntries(
      rows.map((row) => [row.resource_id as string, renderRow(manifest, row) as unknown]),
    );
  }

  /** The value at a dotted path of a rendered object. */
  function at(value: unknown, path: string): unknown {
    return path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
  }

  it('pins production’s graph chart, the one with the permission provider', async () => {
    const { big } = await releases();
    const type = getResourceType(GRAPH_TYPE_ID);
    expect(at(big, 'spec.chart.spec')).toEqual({
      chart: 'graph',
      version: '0.4.36',
      sourceRef: { kind: 'HelmRepository', name: 'konnektr-charts', namespace: 'flux-system' },
    });
    expect(type?.deployment).toMatchObject({
      repository: 'oci://ghcr.io/konnektr-io/charts',
      helm_chart: 'graph',
      chart_version: '0.4.36',
    });
  });

  it('has the API and the MCP server authenticate and ask ktrlplane’s permission check', async () => {
    const { big } = await releases();
    for (const component of ['api', 'mcp'] as const) {
      const config = at(big, `spec.values.${component}.config`);
      expect(at(config, 'authentication'), component).toMatchObject({ enabled: true });
      expect(at(config, 'authorization'), component).toMatchObject({
        enabled: true,
        provider: 'Api',
        apiProvider: {
          resourceName: 'big',
          checkEndpoint: '/api/v1/permissions/check',
          audience: 'https://ktrlplane.konnektr.io',
          clientId: { valueFrom: { secretKeyRef: { name: 'auth0-secret', key: 'clientId' } } },
          clientSecret: { valueFrom: { secretKeyRef: { name: 'auth0-secret', key: 'clientSecret' } } },
        },
      });
      expect(at(config, 'authorization.apiProvider.tokenEndpoint')).toMatch(/^https:\/\/.+\/oauth\/token$/);
      expect(new URL(String(at(config, 'authorization.apiProvider.baseUrl'))).pathname).toBe('/');
    }
    expect(at(big, 'spec.values.api.config.authentication')).toMatchObject({
      issuer: 'https://auth.konnektr.io/',
      audience: 'https://graph.konnektr.io',
    });
    // The path the data plane calls is ktrlplane's check: it wants a token (401), it is not a 404.
    const check = await t.app.request(
      `${at(big, 'spec.values.api.config.authorization.apiProvider.checkEndpoint')}?scopeType=resource&scopeId=big&userId=someone`,
    );
    expect(check.status).toBe(401);
  });

  it('runs the MCP server on the standard SKU and the events service only when there is a route', async () => {
    const { big, quiet, tiny } = await releases();
    expect([big, quiet, tiny].map((release) => at(release, 'spec.values.mcp.enabled'))).toEqual([
      true,
      true,
      false,
    ]);
    expect([big, quiet, tiny].map((release) => at(release, 'spec.values.events.enabled'))).toEqual([
      true,
      false,
      false,
    ]);
    expect(at(big, 'spec.values.events.config.eventRoutes')).toEqual(graphSettings.eventRoutes);
    expect(at(big, 'spec.values.cluster')).toMatchObject({
      enabled: true,
      fullnameOverride: 'big',
      cluster: { instances: graphSettings.instances },
    });
    expect(at(big, 'spec.values.api.httproute.hosts')).toEqual(['big.api.graph.konnektr.io']);
    expect(at(big, 'spec.values.mcp.httproute.hosts')).toEqual(['big.mcp.graph.konnektr.io']);
  });
});
