import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishDeploymentsJob } from '../../src/jobs/finish-deployments.ts';
import { probeHealthJob } from '../../src/jobs/probe-health.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { ROLE } from '../../src/lib/roles.ts';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('deployments', () => {
  const t = useTestApp({
    OPERATOR_GRACE_SECONDS: '60',
    STUCK_AFTER_SECONDS: '600',
    HEALTH_PROBE_TIMEOUT_MS: '300',
  });
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });

  async function setup() {
    // The history trigger and status writes stamp the database's wall clock; the grace period and
    // "stuck" are measured on the app's clock, so both must start at the real time here.
    t.clock.set(new Date());
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const token = await apiTokenFor(t, ada);
    const created = await t.app.request('/api/v1/projects/web/resources', {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resource_id: 'flow',
        name: 'Flow',
        type: 'Konnektr.Flows',
        sku: 'free',
        settings_json: {},
      }),
    });
    expect(created.status).toBe(201);
    const api = (path: string, init: RequestInit = {}) =>
      t.app.request(`/api/v1${path}`, { ...init, headers: { ...bearer(token), ...(init.headers ?? {}) } });
    const row = () =>
      t.database.db
        .selectFrom('ktrlplane.resources')
        .selectAll()
        .where('resource_id', '=', 'flow')
        .executeTakeFirst();
    const history = async () =>
      (
        await t.database.db
          .selectFrom('ktrlplane.resource_deployments')
          .select(['status', 'generation', 'observed_generation', 'deployment_state'])
          .where('resource_id', '=', 'flow')
          .orderBy('event_id')
          .execute()
      ).map((event) => event.status);
    /** What db-query-operator's status template does: a raw UPDATE of the status columns. */
    const operatorWrites = (status: string, observed: number) =>
      sql`UPDATE ktrlplane.resources SET status = ${status}, observed_generation = ${observed},
            status_changed_at = ${t.clock.now()} WHERE resource_id = 'flow'`.execute(t.database.db);
    return { ada, token, api, row, history, operatorWrites };
  }

  it('records every status transition, the operator’s raw UPDATEs included, and tells pending from applied', async () => {
    const { api, history, operatorWrites } = await setup();
    let res = await api('/resources/flow/deployment');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      resource_id: 'flow',
      project_id: 'web',
      status: 'Creating',
      deployment_state: 'deployed',
      generation: 1,
      observed_generation: null,
      changes: 'pending',
      stuck: false,
    });
    await operatorWrites('Progressing', 1);
    await operatorWrites('Healthy', 1);
    res = await api('/resources/flow/deployment');
    const body = (await res.json()) as {
      changes: string;
      status: string;
      history: Array<{ status: string }>;
    };
    expect(body).toMatchObject({ status: 'Healthy', changes: 'applied' });
    expect(body.history.map((event) => event.status)).toEqual(['Healthy', 'Progressing', 'Creating']);
    expect(await history()).toEqual(['Creating', 'Progressing', 'Healthy']);
    // The same path under the project, and as a page.
    expect((await api('/projects/web/resources/flow/deployment')).status).toBe(200);
  });

  it('flags a transient status that lasts too long as stuck, with guidance', async () => {
    const { ada, api, row } = await setup();
    const changedAt = (await row())?.status_changed_at as Date;
    const stuckAt = new Date(changedAt.getTime() + 600_000).toISOString();
    const fresh = (await (await api('/resources/flow/deployment')).json()) as { stuck_at: string | null };
    expect(fresh.stuck_at).toBe(stuckAt);
    // The pages ask htmx to fetch the badge and the panel again when the status would turn stuck:
    // nothing is streamed when a status merely lasts.
    const page = await (await t.app.request('/projects/web/resources', { headers: as(ada) })).text();
    expect(page).toMatch(
      /id="resource-status-flow"[^>]*hx-get="\/projects\/web\/resources\/flow" hx-select="#resource-status-flow" hx-target="this" hx-swap="outerHTML" hx-trigger="load delay:\d+ms" data-stuck-at="[^"]+"/,
    );
    t.clock.advance(601_000);
    const body = (await (await api('/resources/flow/deployment')).json()) as {
      stuck: boolean;
      guidance: string;
    };
    expect(body.stuck).toBe(true);
    expect(body.guidance).toContain('"Creating" has lasted more than 10 minutes');
  });

  it('deploys again (bumping the generation and updated_at) but not while a deployment is in progress', async () => {
    const { api, row, operatorWrites } = await setup();
    const busy = await api('/resources/flow/deploy', { method: 'POST' });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { detail: string }).detail).toContain(
      'A deployment is in progress ("Creating"',
    );
    await operatorWrites('Healthy', 1);
    const before = (await row())?.updated_at;
    t.clock.advance(5000);
    const again = await api('/resources/flow/deploy', { method: 'POST' });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ status: 'Deploying', generation: 2, changes: 'pending' });
    const after = await row();
    expect(after?.updated_at.getTime()).toBeGreaterThan(before?.getTime() ?? 0);
    await operatorWrites('Healthy', 2);
    expect(await (await api('/resources/flow/deployment')).json()).toMatchObject({ changes: 'applied' });
  });

  it('undeploys (the settings stay), finishes the undeploy after the grace period, and deploys back', async () => {
    const { api, row, history, operatorWrites } = await setup();
    await operatorWrites('Healthy', 1);
    const undeploy = await api('/resources/flow/deployment', { method: 'DELETE' });
    expect(undeploy.status).toBe(202);
    expect(await undeploy.json()).toMatchObject({ deployment_state: 'undeployed', status: 'Undeploying' });
    const twice = await api('/resources/flow/deployment', { method: 'DELETE' });
    expect(twice.status).toBe(409);
    // Settings can still change while undeployed, and do not pretend to be Updating.
    const patched = await api('/projects/web/resources/flow', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ settings_json: { replicas: 1, environment: { MODE: 'off' } } }),
    });
    expect(patched.status).toBe(200);
    expect((await row())?.status).toBe('Undeploying');
    await runJob(jobDeps(), finishDeploymentsJob, 'test');
    expect((await row())?.status).toBe('Undeploying');
    t.clock.advance(61_000);
    await runJob(jobDeps(), finishDeploymentsJob, 'test');
    expect(await row()).toMatchObject({ status: 'Undeployed', deployment_state: 'undeployed' });
    expect((await row())?.settings_json).toMatchObject({ environment: { MODE: 'off' } });
    const deploy = await api('/resources/flow/deploy', { method: 'POST' });
    expect(deploy.status).toBe(202);
    expect(await row()).toMatchObject({ deployment_state: 'deployed', status: 'Deploying' });
    expect(await history()).toEqual([
      'Creating',
      'Healthy',
      'Undeploying',
      'Undeploying',
      'Undeployed',
      'Deploying',
    ]);
  });

  it('deletes through Deleting: the row leaves the operator’s query, then goes after the grace period', async () => {
    const { api, row, history } = await setup();
    const deleting = await api('/projects/web/resources/flow', {
      method: 'DELETE',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ confirm: 'Flow' }),
    });
    expect(deleting.status).toBe(202);
    expect(await deleting.json()).toMatchObject({ status: 'Deleting', deployment_state: 'deleting' });
    for (const [path, method] of [
      ['/resources/flow/deploy', 'POST'],
      ['/resources/flow/deployment', 'DELETE'],
    ] as const) {
      const refused = await api(path, { method });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { detail: string }).detail).toContain('is being deleted');
    }
    const rename = await api('/projects/web/resources/flow', {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Other' }),
    });
    expect(rename.status).toBe(409);
    t.clock.advance(61_000);
    await runJob(jobDeps(), finishDeploymentsJob, 'test');
    expect(await row()).toBeUndefined();
    expect(await history()).toEqual(['Creating', 'Deleting', 'Deleted']);
  });

  it('deletes an undeployed resource at once (nothing to prune)', async () => {
    const { api, row } = await setup();
    await api('/resources/flow/deployment', { method: 'DELETE' });
    t.clock.advance(61_000);
    await runJob(jobDeps(), finishDeploymentsJob, 'test');
    const gone = await api('/projects/web/resources/flow', {
      method: 'DELETE',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ confirm: 'Flow' }),
    });
    expect(gone.status).toBe(204);
    expect(await row()).toBeUndefined();
  });

  it('serves the deployment page with actions to writers only, and answers forms with a redirect or the conflict', async () => {
    const { ada, operatorWrites } = await setup();
    const page = await t.app.request('/resources/flow/deployment', { headers: as(ada) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-testid="deployment-summary"');
    expect(html).toContain('action="/resources/flow/undeploy"');
    const busy = await t.app.request('/resources/flow/deploy', {
      method: 'POST',
      headers: as(ada, { Origin: ORIGIN }),
    });
    expect(busy.status).toBe(409);
    expect(await busy.text()).toContain('A deployment is in progress');
    await operatorWrites('Healthy', 1);
    const undeploy = await t.app.request('/resources/flow/undeploy', {
      method: 'POST',
      headers: as(ada, { Origin: ORIGIN }),
    });
    expect(undeploy.status).toBe(303);
    expect(undeploy.headers.get('Location')).toBe('/resources/flow/deployment');

    const vic = await signUpUser(t, 'vic@example.com');
    await grant(t, vic, ROLE.viewer, 'project', 'web');
    const viewerPage = await (await t.app.request('/resources/flow/deployment', { headers: as(vic) })).text();
    expect(viewerPage).not.toContain('/undeploy');
    const forbidden = await t.app.request('/resources/flow/deploy', {
      method: 'POST',
      headers: asJson(vic),
    });
    expect(forbidden.status).toBe(403);
  });

  describe('health probes', () => {
    let server: Server;
    let base = '';
    let mode: 'ok' | 'failing' | 'hanging' = 'ok';
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (mode === 'hanging') return; // never answers: the probe must time out
        res.statusCode = req.url === '/health' && mode === 'ok' ? 200 : 503;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('probes the type’s health path at the access URL and records healthy, failing and timed-out answers', async () => {
      const { api } = await setup();
      await sql`UPDATE ktrlplane.resources SET access_url = ${`${base}/app`} WHERE resource_id = 'flow'`.execute(
        t.database.db,
      );
      const probe = async () => {
        t.clock.advance(60_000);
        expect((await runJob(jobDeps(), probeHealthJob, 'test')).outcome).toBe('succeeded');
        const body = (await (await api('/resources/flow/deployment')).json()) as {
          health: { ok: boolean; url: string; status_code: number | null; error: string | null };
        };
        return body.health;
      };
      mode = 'ok';
      expect(await probe()).toMatchObject({ ok: true, url: `${base}/health`, status_code: 200 });
      mode = 'failing';
      expect(await probe()).toMatchObject({ ok: false, status_code: 503, error: 'answered 503' });
      mode = 'hanging';
      expect(await probe()).toMatchObject({ ok: false, status_code: null, error: 'no answer within 300 ms' });
    });
  });
});
