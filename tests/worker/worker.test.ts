import { readFile } from 'node:fs/promises';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { sql } from 'kysely';
import { Miniflare } from 'miniflare';
import { compress } from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { deliverAlertNotificationsJob } from '../../src/jobs/deliver-alert-notifications.ts';
import { evaluateAlertsJob } from '../../src/jobs/evaluate-alerts.ts';
import { housekeepingJob } from '../../src/jobs/housekeeping.ts';
import { jobsForCron } from '../../src/jobs/registry.ts';
import { sha256Hex } from '../../src/lib/crypto.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { LokiPushRequest } from '../../src/services/logs/protobuf-schemas.ts';
import { iterationsOf, WORKERS_MAX_ITERATIONS } from '../../src/services/passwords.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { startWsProxy } from '../helpers/ws-proxy.ts';

/**
 * The Workers build (dist/worker/worker.js, made by `wrangler deploy --dry-run`) running in workerd
 * through Miniflare, offline, against a real Postgres reached with Neon's driver over a local
 * WebSocket-to-TCP proxy.
 */
const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `ktrlplane_worker_${Date.now()}`;
let mf: Miniflare;
let proxy: Awaited<ReturnType<typeof startWsProxy>>;
const admin = openPostgres(serverUrl, { max: 1 });
const database = openPostgres(databaseUrl(serverUrl, name), { max: 2 });

beforeAll(async () => {
  await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
  await migrateToLatest(database.db);
  proxy = await startWsProxy();
  const wrangler = await readFile('wrangler.toml', 'utf8');
  mf = new Miniflare({
    modules: true,
    scriptPath: 'dist/worker/worker.js',
    compatibilityDate: /compatibility_date = "([^"]+)"/.exec(wrangler)?.[1] ?? '2026-04-01',
    compatibilityFlags: ['nodejs_compat'],
    bindings: {
      DATABASE_URL: databaseUrl(serverUrl, name),
      NEON_WS_PROXY: `127.0.0.1:${proxy.port}/v1`,
      LOG_LEVEL: 'warn',
    },
    assets: { directory: 'dist/public', binding: 'ASSETS', routerConfig: { has_user_worker: true } },
  });
  await mf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await proxy?.close();
  await database.close();
  await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
  await admin.close();
});

describe('the Workers build in workerd', () => {
  it('exports only the handler object', async () => {
    const bundle = await readFile('dist/worker/worker.js', 'utf8');
    const exports = [...bundle.matchAll(/^export\s*\{([^}]*)\}/gm)].flatMap((match) =>
      (match[1] ?? '').split(',').map((part) => part.trim()),
    );
    expect(exports).toEqual([expect.stringMatching(/ as default$/)]);
  });

  it('answers /health UP after reaching Postgres through Neon', async () => {
    const res = await mf.dispatchFetch('http://localhost/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'UP' });
  });

  it('renders the first-run page with hashed assets served by the asset binding', async () => {
    const res = await mf.dispatchFetch('http://localhost/', { headers: { Accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Welcome to ktrlplane');
    expect(html).toContain('PostgreSQL through Neon');
    const cssUrl = /href="(\/static\/app\.[0-9a-f]+\.css)"/.exec(html)?.[1];
    expect(cssUrl).toBeTruthy();
    const css = await mf.dispatchFetch(`http://localhost${cssUrl}`);
    expect(css.status).toBe(200);
    expect(css.headers.get('Content-Type')).toMatch(/text\/css/);
    await css.arrayBuffer();
  });

  it('answers unknown routes with problem+json', async () => {
    const res = await mf.dispatchFetch('http://localhost/api/v1/nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/application\/problem\+json/);
    expect(((await res.json()) as { requestId?: string }).requestId).toBeTruthy();
  });

  it('hashes passwords with at most 100,000 PBKDF2 iterations (the Workers limit)', async () => {
    // The local workerd does not enforce Cloudflare's production cap, so assert what was asked for.
    const res = await mf.dispatchFetch('http://localhost/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: 'http://localhost' },
      body: JSON.stringify({ email: 'worker@example.com', name: 'Worker', password: 'a long passphrase' }),
    });
    expect(res.status).toBe(202);
    await res.arrayBuffer();
    const credential = await database.db
      .selectFrom('ktrlplane.local_credentials')
      .select('password_hash')
      .executeTakeFirstOrThrow();
    expect(iterationsOf(credential.password_hash)).toBe(WORKERS_MAX_ITERATIONS);
  });

  it('streams resource status events, each stream polling the history table by its cursor', async () => {
    const signup = await mf.dispatchFetch('http://localhost/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: 'http://localhost' },
      body: JSON.stringify({ email: 'streams@example.com', name: 'Streams', password: 'a long passphrase' }),
    });
    // Sign-up answers "check your inbox" without a session; the password sign-in gives one.
    expect(signup.status).toBe(202);
    await signup.arrayBuffer();
    const login = await mf.dispatchFetch('http://localhost/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: 'http://localhost' },
      body: JSON.stringify({ email: 'streams@example.com', password: 'a long passphrase' }),
    });
    expect(login.status).toBe(200);
    const { user } = (await login.json()) as { user: { user_id: string } };
    const cookie = (login.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
    await database.db.insertInto('ktrlplane.organizations').values({ org_id: 'org-w', name: 'W' }).execute();
    await database.db
      .insertInto('ktrlplane.role_assignments')
      .values({
        user_id: user.user_id,
        role_id: ROLE.owner,
        scope_type: 'organization',
        scope_id: 'org-w',
        expires_at: null,
        created_by: null,
      })
      .execute();
    await database.db
      .insertInto('ktrlplane.projects')
      .values({ project_id: 'proj-w', org_id: 'org-w', name: 'W' })
      .execute();
    await database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: 'res-w',
        project_id: 'proj-w',
        name: 'W',
        type: 'Konnektr.Flows',
        settings_json: {},
      })
      .execute();

    const res = await mf.dispatchFetch('http://localhost/projects/proj-w/resources/res-w/events', {
      headers: { Cookie: cookie },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/);
    // What db-query-operator does: a raw status UPDATE.
    await sql`UPDATE ktrlplane.resources SET status = 'Progressing' WHERE resource_id = 'res-w'`.execute(
      database.db,
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const deadline = Date.now() + 15_000;
    while (!text.includes('"status":"Progressing"') && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
    expect(text).toMatch(/event: status\ndata: \{"event_id":\d+,"resource_id":"res-w"/);
    expect(text).toContain('"status":"Progressing"');
  });

  it('ingests OTLP protobuf and a snappy Loki protobuf push (protobufjs codecs set up at startup)', async () => {
    // Uses the project and resource of the status-stream test above.
    const secret = 'kpi_worker_protobuf_ingest_token';
    await database.db
      .insertInto('ktrlplane.ingest_tokens')
      .values({
        token_id: 'itk-worker',
        project_id: 'proj-w',
        name: 'worker',
        token_hash: await sha256Hex(secret),
        created_by: null,
        created_at: new Date(),
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ resource_id: 'res-w' }),
      processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    });
    provider.getLogger('worker-test').emit({ severityNumber: 17, body: 'otlp protobuf in workerd' });
    await provider.forceFlush();
    const otlp = ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords());
    const otlpRes = await mf.dispatchFetch('http://localhost/v1/logs', {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/x-protobuf' },
      body: otlp,
    });
    expect(otlpRes.status).toBe(200);
    expect(await otlpRes.json()).toEqual({});
    const push = LokiPushRequest.encode(
      LokiPushRequest.fromObject({
        streams: [
          {
            labels: '{resource_id="res-w", level="warn"}',
            entries: [
              { timestamp: { seconds: Math.floor(Date.now() / 1000) }, line: 'loki snappy in workerd' },
            ],
          },
        ],
      }),
    ).finish();
    const lokiRes = await mf.dispatchFetch('http://localhost/loki/api/v1/push', {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/x-protobuf' },
      body: new Uint8Array(compress(push)),
    });
    expect(lokiRes.status).toBe(204);
    await lokiRes.arrayBuffer();
    const rows = await database.db
      .selectFrom('ktrlplane.logs')
      .select(['resource_id', 'level', 'message', 'source'])
      .where('project_id', '=', 'proj-w')
      .orderBy('log_id')
      .execute();
    expect(rows).toEqual([
      { resource_id: 'res-w', level: 'error', message: 'otlp protobuf in workerd', source: 'otlp' },
      { resource_id: 'res-w', level: 'warn', message: 'loki snappy in workerd', source: 'loki' },
    ]);
  });

  it('runs the scheduled jobs of a cron trigger and records them in Postgres', async () => {
    // Miniflare's Fetcher type omits scheduled(); workerd's Fetcher has it.
    const worker = (await mf.getWorker()) as unknown as {
      scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
    };
    await worker.scheduled({ cron: housekeepingJob.schedule, scheduledTime: new Date() });
    // Every job on that schedule runs (housekeeping and enforce-billing-grace share it).
    const runs = await database.db.selectFrom('ktrlplane.job_runs').selectAll().orderBy('job').execute();
    const expected = jobsForCron(housekeepingJob.schedule)
      .map((job) => job.name)
      .sort();
    expect(runs.map((run) => run.job)).toEqual(expected);
    expect(expected).toContain('housekeeping');
    for (const run of runs) {
      expect(run).toMatchObject({ outcome: 'succeeded', trigger: `cron:${housekeepingJob.schedule}` });
    }
  });

  it('runs the 30-second alert jobs twice within the minute trigger (Cron Triggers fire once a minute)', async () => {
    const worker = (await mf.getWorker()) as unknown as {
      scheduled(options: { cron: string; scheduledTime: Date }): Promise<unknown>;
    };
    await worker.scheduled({ cron: evaluateAlertsJob.schedule, scheduledTime: new Date() });
    const runs = await database.db
      .selectFrom('ktrlplane.job_runs')
      .select(['job', 'trigger', 'outcome'])
      .where('job', 'in', [evaluateAlertsJob.name, deliverAlertNotificationsJob.name])
      .orderBy('started_at')
      .execute();
    const cron = `cron:${evaluateAlertsJob.schedule}`;
    expect(runs.map((run) => `${run.job} ${run.trigger} ${run.outcome}`).sort()).toEqual(
      [
        `${deliverAlertNotificationsJob.name} ${cron} succeeded`,
        `${deliverAlertNotificationsJob.name} ${cron}+30s succeeded`,
        `${evaluateAlertsJob.name} ${cron} succeeded`,
        `${evaluateAlertsJob.name} ${cron}+30s succeeded`,
      ].sort(),
    );
  }, 90_000);
});
