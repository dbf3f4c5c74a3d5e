import { describe, expect, it } from 'vitest';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

interface Series {
  name: string;
  unit: string;
  points: Array<{ t: string; v: number | null }>;
}

describe('monitoring: control-plane metrics', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    await createProjectFor(t, ada, 'acme', 'Jobs', 'jobs');
    await createResourceRow(t, 'web', 'db1');
    await createResourceRow(t, 'jobs', 'q1');
    // The history below replaces what the insert trigger recorded (at the wall clock's time).
    await t.database.db.deleteFrom('ktrlplane.resource_deployments').execute();
    const minutesAgo = (m: number) => new Date(t.clock.now().getTime() - m * 60_000);
    const history: Array<[string, string, string, number]> = [
      ['db1', 'web', 'Progressing', 50],
      ['db1', 'web', 'Healthy', 45],
      ['db1', 'web', 'Degraded', 20],
      ['q1', 'jobs', 'Healthy', 40],
    ];
    for (const [resourceId, projectId, status, ago] of history) {
      await t.database.db
        .insertInto('ktrlplane.resource_deployments')
        .values({
          resource_id: resourceId,
          project_id: projectId,
          status,
          generation: 1,
          deployment_state: 'deployed',
          at: minutesAgo(ago),
        } as never)
        .execute();
    }
    const minute = (ago: number) =>
      new Date(Math.floor(t.clock.now().getTime() / 60_000) * 60_000 - ago * 60_000);
    for (const [projectId, ago, requests, server, client] of [
      ['web', 10, 40, 4, 2],
      ['jobs', 10, 60, 0, 6],
    ] as const) {
      await t.database.db
        .insertInto('ktrlplane.api_usage_minutes')
        .values({
          org_id: 'acme',
          project_id: projectId,
          token_id: '',
          minute: minute(ago),
          requests,
          client_errors: client,
          server_errors: server,
          duration_ms_sum: 1000,
          duration_buckets: [requests, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        } as never)
        .execute();
    }
    return { ada, token: await apiTokenFor(t, ada) };
  }

  const last = (series: Series[], name: string) => series.find((s) => s.name === name)?.points.at(-1)?.v;
  const sum = (series: Series[], name: string) =>
    (series.find((s) => s.name === name)?.points ?? []).reduce((total, p) => total + (p.v ?? 0), 0);

  it('answers the series as JSON per project and per organization', async () => {
    const { token } = await setup();
    const project = (await (
      await t.app.request('/api/v1/projects/web/monitoring?range=1h', { headers: bearer(token) })
    ).json()) as Record<string, Series[]> & { step_seconds: number };
    expect(project.step_seconds).toBe(60);
    expect(project.resource_health?.map((s) => s.name)).toEqual([
      'Healthy',
      'In progress',
      'Degraded or unknown',
    ]);
    expect(last(project.resource_health as Series[], 'Degraded or unknown')).toBe(1);
    expect(last(project.resource_health as Series[], 'Healthy')).toBe(0);
    expect(sum(project.deployment_status as Series[], 'Degraded or unknown')).toBe(1);
    expect(sum(project.deployment_status as Series[], 'Healthy')).toBe(1);
    expect(sum(project.api_usage as Series[], 'Requests')).toBe(40);
    expect(
      Math.max(...(project.error_rate?.find((s) => s.name === '5xx')?.points.map((p) => p.v ?? 0) ?? [])),
    ).toBe(10);
    expect(project.latency?.map((s) => s.name)).toEqual(['p50', 'p95', 'p99']);

    const org = (await (
      await t.app.request('/api/v1/organizations/acme/monitoring?range=1h', { headers: bearer(token) })
    ).json()) as Record<string, Series[]>;
    expect(last(org.resource_health as Series[], 'Healthy')).toBe(1);
    expect(sum(org.api_usage as Series[], 'Requests')).toBe(100);
    expect(sum(org.api_usage as Series[], 'Client errors (4xx)')).toBe(8);
  });

  it('renders the four charts on the project and organization Monitoring tabs', async () => {
    const { ada } = await setup();
    for (const path of ['/projects/web/monitoring?range=6h', '/organizations/acme/monitoring']) {
      const res = await t.app.request(path, { headers: as(ada) });
      expect(res.status).toBe(200);
      const html = await res.text();
      for (const title of [
        'Resource health',
        'Deployments by status',
        'API usage',
        'Error rate',
        'Request latency',
      ]) {
        expect(html).toContain(`>${title}</title>`);
      }
      expect(html).toContain('aria-current="page"');
    }
  });

  it('tells how to connect a metrics backend on a resource without one, and refuses an escaping query', async () => {
    const { ada } = await setup();
    const page = await t.app.request('/projects/web/resources/db1/monitoring', { headers: as(ada) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('PROMETHEUS_URL');
    const json = await t.app.request('/projects/web/resources/db1/monitoring', { headers: asJson(ada) });
    expect(await json.json()).toMatchObject({ connected: false, charts: [] });
    const escaping = await t.app.request(
      `/projects/web/resources/db1/monitoring?query=${encodeURIComponent('up{resource_id="q1"}')}`,
      { headers: asJson(ada) },
    );
    expect(escaping.status).toBe(422);
    expect(await escaping.json()).toMatchObject({
      errors: [{ pointer: '/query', message: expect.stringMatching(/conflicts/) }],
    });
  });
});
