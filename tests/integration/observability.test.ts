import { Hono } from 'hono';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import type { Job } from '../../src/jobs/job.ts';
import { markSchedulerStarted, runJob, schedulerHeartbeat } from '../../src/jobs/run-job.ts';
import type { AppEnv } from '../../src/lib/app-env.ts';
import { requireAccess } from '../../src/lib/auth-middleware.ts';
import { consoleRecordWriter, createLogger, REDACTED, redact, scrubSecrets } from '../../src/lib/logger.ts';
import { metricsRegistry, setDatabasePoolStats } from '../../src/lib/metrics.ts';
import { readiness, SCHEDULER_STALE_MS } from '../../src/routes/health.ts';
import { createMetricsApp } from '../../src/routes/metrics.ts';
import {
  apiTokenFor,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';
const JSON_ACCEPT = { Accept: 'application/json' };

/** The value of one sample in exposition text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (wanted.every((pair) => labelText.split(',').includes(pair))) return Number(line.split(' ').at(-1));
  }
  return undefined;
}

describe('observability', () => {
  const t = useTestApp({ METRICS_TOKEN, JOBS_ENABLED: 'false' });

  async function scrape(): Promise<string> {
    const res = await t.app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    return res.text();
  }

  // Routes composed into the real app, behind the real pipeline.
  const probeRoutes = new Hono<AppEnv>()
    .get('/probe/orgs/:orgId', requireAccess('read', 'organization', 'orgId'), (c) => {
      c.get('log').info('probe read the organization');
      return c.json({ ok: true });
    })
    .post('/probe/log-everything', async (c) => {
      const body = await c.req.json();
      const log = c.get('log');
      // A careless handler: headers, body, configuration, settings and an error, all logged whole.
      log.info('everything', {
        headers: Object.fromEntries(c.req.raw.headers),
        body,
        config: c.get('deps').config,
      });
      log.error('downstream failed', {
        err: new Error(`connect ${String(body.connection)} failed`, { cause: new Error(body.detail) }),
      });
      throw new Error(`payment provider refused key ${String(body.stripeKey)}`);
    });
  const probe = () => createApp(t.deps, { extraRoutes: [probeRoutes] });

  describe('structured logs', () => {
    it('joins every line of a request by request id, and names the user and organization once known', async () => {
      const owner = await signUpUser(t, 'logs@example.com');
      await createOrgFor(t, owner, 'Logs', 'logs-org');
      t.logs.length = 0;
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const res = await probe().request('/probe/orgs/logs-org', { headers: asJson(owner, { traceparent }) });
      expect(res.status).toBe(200);
      const requestId = res.headers.get('X-Request-Id');
      const lines = t.logs.filter((line) => line.request_id === requestId);
      expect(lines.map((line) => line.msg)).toEqual(['probe read the organization', 'request']);
      for (const line of lines) {
        expect(line).toMatchObject({
          level: 'info',
          user_id: owner.userId,
          org_id: 'logs-org',
          // No SDK in this file: the caller's traceparent still ties the lines to its trace.
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        });
        expect(typeof line.time).toBe('string');
      }
      expect(lines[1]).toMatchObject({ method: 'GET', route: '/probe/orgs/:orgId', status: 200 });
    });

    it('writes readable lines with LOG_FORMAT=pretty and records to console on Workers', () => {
      const lines: string[] = [];
      const log = createLogger({
        level: 'info',
        format: 'pretty',
        now: () => new Date('2026-11-27T12:00:00Z'),
        write: (line) => lines.push(line),
      }).child({ request_id: 'r-1' });
      log.debug('hidden');
      log.info('request', { status: 200, password: 'hunter2' });
      expect(lines).toEqual([
        `2026-11-27T12:00:00.000Z INFO  request request_id=r-1 status=200 password=${REDACTED}`,
      ]);

      const info = vi.spyOn(console, 'info').mockImplementation(() => {});
      const error = vi.spyOn(console, 'error').mockImplementation(() => {});
      const workers = createLogger({ level: 'info', format: 'json', writeRecord: consoleRecordWriter });
      workers.info('request', { route: '/health' });
      workers.error('request failed', { authorization: 'Bearer abc' });
      expect(info).toHaveBeenCalledWith(
        expect.objectContaining({ level: 'info', msg: 'request', route: '/health' }),
      );
      expect(error).toHaveBeenCalledWith(
        expect.objectContaining({ level: 'error', authorization: REDACTED }),
      );
      info.mockRestore();
      error.mockRestore();
    });

    it('redacts by structure: credential keys, keys marked secret in resource schemas, credential shapes', () => {
      const out = redact({
        headers: { Authorization: 'Bearer x', cookie: 'session=abc', 'x-api-key': 'k' },
        user: { name: 'Ada', password: 'p', passwordHash: 'h' },
        settings: {
          sinks: { webhook: [{ url: 'https://hook.example', authentication: { headerValue: 'hv' } }] },
        },
        azure: { clientSecret: 'cs' },
        config: { STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_WEBHOOK_SECRET: 'whsec_1', METRICS_TOKEN: 'm' },
        token_id: 'tok-1',
        note: 'key sk_live_abcdefgh12345678 in text',
        url: 'postgres://app:s3cret@db:5432/k',
      }) as Record<string, Record<string, unknown>>;
      expect(out.headers).toEqual({ Authorization: REDACTED, cookie: REDACTED, 'x-api-key': REDACTED });
      expect(out.user).toEqual({ name: 'Ada', password: REDACTED, passwordHash: REDACTED });
      expect(JSON.stringify(out.settings)).toBe(
        JSON.stringify({
          sinks: { webhook: [{ url: 'https://hook.example', authentication: { headerValue: REDACTED } }] },
        }),
      );
      expect(out.azure).toEqual({ clientSecret: REDACTED });
      expect(Object.values(out.config ?? {})).toEqual([REDACTED, REDACTED, REDACTED]);
      expect(out.token_id).toBe('tok-1');
      expect(out.note).toBe(`key ${REDACTED} in text`);
      expect(out.url).toBe(`postgres://app:${REDACTED}@db:5432/k`);
      expect(scrubSecrets('GET /invitations/accept?token=abc123&next=/')).toBe(
        `GET /invitations/accept?token=${REDACTED}&next=/`,
      );
    });

    it('never writes a planted secret, whatever a request sends or a handler logs', async () => {
      const planted = {
        password: 'planted-password-7d1e8a',
        apiToken: '',
        cookie: 'planted-cookie-4f0c2b',
        stripeKey: 'sk_live_plantedstripe9c3e51',
        webhookSecret: 'whsec_plantedwebhook6a2d',
        settingsSecret: 'planted-header-value-3b9f',
        dbPassword: 'planted-db-password-81c',
        metricsToken: METRICS_TOKEN,
      };
      const logs: Array<Record<string, unknown>> = [];
      const keep = () => logs.push(...t.logs.splice(0));

      // Sign up and sign in with the planted password, through the real routes.
      const signup = await t.app.request('/auth/signup', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          Origin: 'http://localhost',
        },
        body: JSON.stringify({ email: 'planted@example.com', name: 'Planted', password: planted.password }),
      });
      // Sign-up answers "check your inbox" without a session; the right password signs in.
      expect(signup.status).toBe(202);
      const signedIn = await t.app.request('/auth/login', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          Origin: 'http://localhost',
        },
        body: JSON.stringify({ email: 'planted@example.com', password: planted.password }),
      });
      expect(signedIn.status).toBe(200);
      const login = await t.app.request('/auth/login', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          Origin: 'http://localhost',
        },
        body: JSON.stringify({ email: 'planted@example.com', password: `${planted.password}-wrong` }),
      });
      expect(login.status).toBeGreaterThanOrEqual(400);
      const user = {
        userId: ((await signedIn.json()) as { user: { user_id: string } }).user.user_id,
        email: 'planted@example.com',
        password: planted.password,
        cookie: signedIn.headers.get('Set-Cookie')?.split(';')[0] ?? '',
      };
      planted.apiToken = await apiTokenFor(t, user);
      expect(
        (await t.app.request('/api/v1/organizations', { headers: bearer(planted.apiToken) })).status,
      ).toBe(200);
      expect(
        (await t.app.request('/api/v1/organizations', { headers: bearer(`${planted.apiToken}x`) })).status,
      ).toBe(401);
      keep();

      // A handler that logs everything it has, then fails with a secret in its error message.
      const res = await probe().request('/probe/log-everything', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...JSON_ACCEPT,
          Authorization: `Bearer ${planted.apiToken}`,
          Cookie: `session=${planted.cookie}`,
          'Stripe-Signature': `t=1,v1=${planted.webhookSecret}`,
        },
        body: JSON.stringify({
          password: planted.password,
          stripeKey: planted.stripeKey,
          webhook_secret: planted.webhookSecret,
          settings: {
            sinks: { webhook: [{ authentication: { kind: 'header', headerValue: planted.settingsSecret } }] },
          },
          connection: `postgres://app:${planted.dbPassword}@db.internal:5432/ktrlplane`,
          detail: `password=${planted.password}`,
        }),
      });
      expect(res.status).toBe(500);
      keep();

      const everything = JSON.stringify(logs);
      expect(everything).toContain('request failed');
      expect(everything).toContain(REDACTED);
      for (const [name, value] of Object.entries(planted)) {
        expect(everything.includes(value), `${name} leaked into the logs`).toBe(false);
      }
    });
  });

  describe('GET /metrics', () => {
    it('is not there without a token or port: 404 like any unknown path', async () => {
      const app = createApp({ ...t.deps, config: loadConfig({ NODE_ENV: 'test' }) });
      const res = await app.request('/metrics');
      expect(res.status).toBe(404);
      const withToken = await app.request('/metrics', {
        headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(withToken.status).toBe(404);
    });

    it('wants the metrics bearer token, and is never mistaken for an API token', async () => {
      expect((await t.app.request('/metrics')).status).toBe(401);
      const wrong = await t.app.request('/metrics', {
        headers: { Authorization: 'Bearer not-the-token-at-all' },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('WWW-Authenticate')).toContain('Bearer');
      const res = await t.app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      for (const name of [
        'http_request_duration_seconds',
        'http_requests_total',
        'resource_deployments_total',
        'resources',
        'job_runs_total',
        'job_duration_seconds',
        'stripe_requests_total',
        'stripe_webhook_events_total',
        'usage_events_ingested_total',
        'sse_connections',
        'db_pool_connections',
        'db_pool_waiting_clients',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ]) {
        expect(text, name).toContain(`# TYPE ${name} `);
      }
    });

    it('is off on Workers, whatever the configuration (per-isolate counters)', async () => {
      const app = createApp({ ...t.deps, runtime: 'workers' });
      const res = await app.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(res.status).toBe(404);
    });

    it('counts requests by method, route template and status, never by raw path', async () => {
      const owner = await signUpUser(t, 'counted@example.com');
      await createOrgFor(t, owner, 'Counted', 'counted-org');
      const labels = { method: 'GET', route: '/organizations/:orgId', status: '200' };
      const before = sample(await scrape(), 'http_requests_total', labels) ?? 0;
      for (let i = 0; i < 3; i++) {
        expect((await t.app.request('/organizations/counted-org', { headers: asJson(owner) })).status).toBe(
          200,
        );
      }
      const text = await scrape();
      expect(sample(text, 'http_requests_total', labels)).toBe(before + 3);
      expect(sample(text, 'http_request_duration_seconds_count', labels)).toBe(before + 3);
      expect(text).not.toContain('counted-org');
      const api = { method: 'GET', route: '/api/v1/organizations/:orgId', status: '404' };
      const token = await apiTokenFor(t, owner);
      const apiBefore = sample(await scrape(), 'http_requests_total', api) ?? 0;
      const missing = await t.app.request('/api/v1/organizations/missing-org', { headers: bearer(token) });
      expect(missing.status).toBe(404);
      expect(sample(await scrape(), 'http_requests_total', api)).toBe(apiBefore + 1);
    });

    it('reads the resources gauge from the database, cached for a few seconds', async () => {
      const owner = await signUpUser(t, 'gauge@example.com');
      await createOrgFor(t, owner, 'Gauge', 'gauge-org');
      await createProjectFor(t, owner, 'gauge-org', 'Gauge', 'gauge-project');
      await createResourceRow(t, 'gauge-project', 'graph-1');
      await createResourceRow(t, 'gauge-project', 'graph-2');
      await createResourceRow(t, 'gauge-project', 'flow-1', 'Konnektr.Flows');
      await t.database.db
        .updateTable('ktrlplane.resources')
        .set({ status: 'Ready' })
        .where('resource_id', '=', 'graph-2')
        .execute();
      t.clock.advance(60_000);
      const status = (
        await t.database.db
          .selectFrom('ktrlplane.resources')
          .select('status')
          .where('resource_id', '=', 'graph-1')
          .executeTakeFirstOrThrow()
      ).status;
      const text = await scrape();
      expect(sample(text, 'resources', { type: 'Konnektr.Graph', status })).toBe(1);
      expect(sample(text, 'resources', { type: 'Konnektr.Graph', status: 'Ready' })).toBe(1);
      expect(sample(text, 'resources', { type: 'Konnektr.Flows', status })).toBe(1);

      await createResourceRow(t, 'gauge-project', 'flow-2', 'Konnektr.Flows');
      expect(sample(await scrape(), 'resources', { type: 'Konnektr.Flows', status })).toBe(1);
      t.clock.advance(11_000);
      expect(sample(await scrape(), 'resources', { type: 'Konnektr.Flows', status })).toBe(2);
    });

    it('reports the database pool and counts job runs by outcome', async () => {
      setDatabasePoolStats(() => ({ database: 'postgres', busy: 2, idle: 3, waiting: 1 }));
      const job: Job = {
        name: 'metrics-probe',
        schedule: '* * * * *',
        description: 'test',
        run: async () => 'done',
      };
      const failing: Job = {
        ...job,
        name: 'metrics-probe-fails',
        run: async () => Promise.reject(new Error('no')),
      };
      const deps = { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config };
      await runJob(deps, job, 'test');
      await runJob(deps, job, 'test');
      await runJob(deps, failing, 'test');
      const text = await scrape();
      setDatabasePoolStats(undefined);
      expect(sample(text, 'db_pool_connections', { database: 'postgres', state: 'busy' })).toBe(2);
      expect(sample(text, 'db_pool_connections', { database: 'postgres', state: 'idle' })).toBe(3);
      expect(sample(text, 'db_pool_waiting_clients', { database: 'postgres' })).toBe(1);
      expect(sample(text, 'job_runs_total', { job: 'metrics-probe', outcome: 'succeeded' })).toBe(2);
      expect(sample(text, 'job_runs_total', { job: 'metrics-probe-fails', outcome: 'failed' })).toBe(1);
      expect(sample(text, 'job_duration_seconds_count', { job: 'metrics-probe' })).toBe(2);
      const jobLines = t.logs.filter((line) => line.msg === 'job run');
      expect(
        jobLines.every((line) => typeof line.job_run_id === 'string' && line.request_id === undefined),
      ).toBe(true);
    });

    it('serves /metrics alone on METRICS_PORT, with the token when one is set', async () => {
      const open = createMetricsApp({ ...t.deps, config: loadConfig({ METRICS_PORT: '0' }) });
      const res = await open.request('/metrics');
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('# TYPE http_requests_total counter');
      expect((await open.request('/organizations')).status).toBe(404);
      const guarded = createMetricsApp(t.deps);
      expect((await guarded.request('/metrics')).status).toBe(401);
      expect(
        (await guarded.request('/metrics', { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status,
      ).toBe(200);
      expect(metricsRegistry.getSingleMetric('http_requests_total')).toBeDefined();
    });
  });

  describe('GET /ready', () => {
    afterEach(() => {
      readiness.draining = false;
      schedulerHeartbeat.startedAt = null;
      schedulerHeartbeat.lastRunAt = null;
    });

    it('is ready when the database answers and its migrations are applied', async () => {
      const res = await t.app.request('/ready');
      expect(res.status).toBe(200);
      expect(res.headers.get('Cache-Control')).toBe('no-store');
      expect(await res.json()).toEqual({
        status: 'UP',
        checks: {
          database: { status: 'UP' },
          migrations: { status: 'UP' },
          scheduler: { status: 'DISABLED', detail: 'JOBS_ENABLED=false' },
        },
      });
      expect((await t.app.request('/api/v1/ready')).status).toBe(200);
    });

    it('is not ready with a migration pending', async () => {
      const last = await t.database.db
        .selectFrom('ktrlplane.schema_migrations' as never)
        .selectAll()
        .orderBy('name' as never, 'desc')
        .limit(1)
        .executeTakeFirstOrThrow();
      const row = last as { name: string; timestamp: string };
      await sql`DELETE FROM ktrlplane.schema_migrations WHERE name = ${row.name}`.execute(t.database.db);
      try {
        const res = await t.app.request('/ready');
        expect(res.status).toBe(503);
        const body = await res.json();
        expect(body.status).toBe('DOWN');
        expect(body.checks.migrations).toEqual({
          status: 'DOWN',
          detail: expect.stringContaining('1 migration'),
        });
      } finally {
        await sql`INSERT INTO ktrlplane.schema_migrations (name, timestamp) VALUES (${row.name}, ${row.timestamp})`.execute(
          t.database.db,
        );
      }
      expect((await t.app.request('/ready')).status).toBe(200);
    });

    it('is not ready when the database does not answer', async () => {
      const unreachable = openPostgres('postgres://nobody@127.0.0.1:1/none', { max: 1 });
      const res = await createApp({ ...t.deps, db: unreachable.db }).request('/ready');
      await unreachable.close();
      expect(res.status).toBe(503);
      expect((await res.json()).checks.database.status).toBe('DOWN');
    });

    it('checks the scheduler where this process runs the jobs', async () => {
      const app = createApp({ ...t.deps, config: { ...t.deps.config, JOBS_ENABLED: true } });
      const notStarted = await app.request('/ready');
      expect(notStarted.status).toBe(503);
      expect((await notStarted.json()).checks.scheduler).toEqual({
        status: 'DOWN',
        detail: 'the scheduler has not started',
      });
      markSchedulerStarted(t.clock.now());
      expect((await app.request('/ready')).status).toBe(200);
      t.clock.advance(SCHEDULER_STALE_MS + 1000);
      const stale = await app.request('/ready');
      expect(stale.status).toBe(503);
      expect((await stale.json()).checks.scheduler.detail).toMatch(/no job run has started for \d+ s/);
      schedulerHeartbeat.lastRunAt = t.clock.now();
      expect((await app.request('/ready')).status).toBe(200);
      const workers = createApp({
        ...t.deps,
        runtime: 'workers',
        config: { ...t.deps.config, JOBS_ENABLED: true },
      });
      schedulerHeartbeat.startedAt = null;
      expect((await (await workers.request('/ready')).json()).checks.scheduler.status).toBe('UP');
    });

    it('stops being ready while the process drains for shutdown', async () => {
      readiness.draining = true;
      const res = await t.app.request('/ready');
      expect(res.status).toBe(503);
      expect((await res.json()).checks.shutdown).toEqual({ status: 'DOWN', detail: 'shutting down' });
      expect((await t.app.request('/health')).status).toBe(200);
    });
  });
});
