/**
 * Two figures of the schema-driven forms:
 * 1. Server render time of the full DigitalTwins form (the "Kafka streaming" preset plus one sink
 *    of every kind and three routes), median and p99 over many renders, next to the bare layout
 *    rendered in the same run as the baseline.
 * 2. Latency p50/p99 of the inline validate endpoint under 10 concurrent clients (autocannon,
 *    PostgreSQL), next to GET /health on the same server in the same run.
 */
import autocannon from 'autocannon';
import { raw } from 'hono/html';
import { digitalTwins } from '../src/schemas/resource-types/digital-twins.ts';
import { settingsSchemaFor } from '../src/services/resource-types.ts';
import { renderSchemaFormParts, SchemaForm } from '../src/views/forms/schema-form.tsx';
import { submittedFields } from '../src/views/forms/submitted-fields.ts';
import { Layout } from '../src/views/layout.tsx';
import { scratchDatabase, startServer } from './lib/server.ts';

const RENDERS = Number(process.env.BENCH_RENDERS ?? 2000);
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const PORT = 19_000 + Math.floor(Math.random() * 1000);

const settings = {
  instances: 3,
  eventSinks: {
    kafka: [
      {
        name: 'kafka-out',
        brokerList: 'kafka-0.example.com:9093',
        topic: 'twins',
        securityProtocol: 'SASL_SSL',
        saslMechanism: 'OAUTHBEARER',
      },
    ],
    kusto: [
      { name: 'adx-out', ingestionUri: 'https://ingest-x.westeurope.kusto.windows.net', database: 'twins' },
    ],
    mqtt: [
      {
        name: 'mqtt-out',
        broker: 'mqtt.example.com',
        port: 8883,
        topic: 'twins',
        clientId: 'graph',
        protocolVersion: '5.0.0',
      },
    ],
    webhook: [
      {
        name: 'hook-out',
        url: 'https://hooks.example.com/twins',
        method: 'POST',
        authentication: { type: 'None' },
      },
    ],
  },
  eventRoutes: [
    { name: 'to-kafka', sinkName: 'kafka-out', eventFormat: 'EventNotification', filters: [] },
    { name: 'to-adx', sinkName: 'adx-out', eventFormat: 'DataHistory', filters: [] },
    {
      name: 'to-hook',
      sinkName: 'hook-out',
      eventFormat: 'Telemetry',
      filters: ["type = 'Microsoft.DigitalTwins.Twin.Update'"],
    },
  ],
  database: { storageClass: 'standard', storageSize: '100Gi', backupEnabled: true },
};
const schema = settingsSchemaFor(digitalTwins, 'standard');
const parsed = schema.parse(settings);
const page = {
  nonce: 'bench',
  requestId: 'bench',
  assets: {
    'app.css': '/static/a.css',
    'htmx.js': '/static/h.js',
    'htmx-sse.js': '/static/hs.js',
    'app.js': '/static/app.js',
    'alpine.js': '/static/al.js',
    'log-tail.js': '/static/lt.js',
    'favicon.svg': '/static/f.svg',
  },
};

async function timeRenders(render: () => unknown): Promise<{ median: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    const started = performance.now();
    await String(await render());
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)] ?? Number.NaN,
    p99: times[Math.floor(times.length * 0.99)] ?? Number.NaN,
  };
}

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const layoutOnly = () => (
  <>
    {raw('<!DOCTYPE html>')}
    <Layout page={page} title="Bench">
      <p>empty</p>
    </Layout>
  </>
);
const fullForm = () => (
  <>
    {raw('<!DOCTYPE html>')}
    <Layout page={page} title="Bench">
      {SchemaForm({
        schema,
        action: '/x',
        values: parsed,
        namePrefix: 'settings',
        validateUrl: '/x/validate',
        operationUrl: '/x',
      })}
    </Layout>
  </>
);
await timeRenders(layoutOnly);
await timeRenders(fullForm);
const baseline = await timeRenders(layoutOnly);
const form = await timeRenders(fullForm);
console.log(`form render, ${RENDERS} renders each`);
console.log(
  `  baseline: bare layout                median ${fmt(baseline.median)}  p99 ${fmt(baseline.p99)}`,
);
console.log(`  full DigitalTwins form in layout     median ${fmt(form.median)}  p99 ${fmt(form.p99)}`);

// ——— validate endpoint under 10 concurrent clients ———
const database = await scratchDatabase('ktrlplane_bench_forms');
// Billing is off in the benchmark; the standard plan lifts the free plan's SKU limit so the full
// form (standard SKU) can be created, as a self-hosted installation without Stripe would.
const server = await startServer(
  { DATABASE_URL: database.url, PASSWORD_ITERATIONS: '1000', PLAN_WITHOUT_BILLING: 'standard' },
  PORT,
);
try {
  const origin = server.url;
  const signup = await fetch(`${origin}/auth/signup`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: origin },
    body: JSON.stringify({ email: 'bench@example.com', name: 'Bench', password: 'a long passphrase' }),
  });
  if (signup.status !== 202) throw new Error(`bench sign-up answered ${signup.status}`);
  // Sign-up does not sign in (a taken address must look the same); the password sign-in does.
  const login = await fetch(`${origin}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Origin: origin },
    body: JSON.stringify({ email: 'bench@example.com', password: 'a long passphrase' }),
  });
  const cookie = (login.headers.get('Set-Cookie') ?? '').split(';')[0] ?? '';
  const json = {
    Cookie: cookie,
    Origin: origin,
    Accept: 'application/json',
    'Content-Type': 'application/json',
  };
  await fetch(`${origin}/organizations`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'Bench', org_id: 'bench' }),
  });
  await fetch(`${origin}/organizations/bench/projects`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'Bench', project_id: 'bench' }),
  });
  const created = await fetch(`${origin}/projects/bench/resources`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: settings,
    }),
  });
  if (created.status !== 201)
    throw new Error(`could not create the resource: ${created.status} ${await created.text()}`);
  const formHtml = String(
    await renderSchemaFormParts(schema, { values: parsed, namePrefix: 'settings' }).fields,
  );
  const fields = { ...submittedFields(formHtml), __field: 'settings.eventRoutes[2].sinkName' } as Record<
    string,
    string | string[]
  >;
  const body = new URLSearchParams(
    Object.entries(fields).flatMap(([key, value]) =>
      Array.isArray(value) ? value.map((v) => [key, String(v)]) : [[key, String(value)]],
    ),
  ).toString();
  const url = `${origin}/projects/bench/resources/graph/settings/validate`;
  const headers = {
    Cookie: cookie,
    Origin: origin,
    'Content-Type': 'application/x-www-form-urlencoded',
    'HX-Request': 'true',
  };
  const probe = await fetch(url, { method: 'POST', headers, body });
  if (probe.status !== 200)
    throw new Error(`validate answered ${probe.status}: ${(await probe.text()).slice(0, 300)}`);
  await autocannon({ url: `${origin}/health`, connections: 10, amount: 300 });
  const health = await autocannon({ url: `${origin}/health`, connections: 10, duration: DURATION_S });
  const validate = await autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections: 10,
    duration: DURATION_S,
  });
  if (validate.non2xx > 0 || validate.errors > 0)
    throw new Error(`validate: ${validate.non2xx} non-2xx, ${validate.errors} errors`);
  console.log(`inline validation, 10 concurrent clients, ${DURATION_S} s each, PostgreSQL`);
  console.log(
    `  baseline GET /health                 p50 ${health.latency.p50} ms  p99 ${health.latency.p99} ms  ${Math.round(health.requests.average)} req/s`,
  );
  console.log(
    `  POST …/settings/validate (one field) p50 ${validate.latency.p50} ms  p99 ${validate.latency.p99} ms  ${Math.round(validate.requests.average)} req/s`,
  );
} finally {
  await server.stop();
  await database.drop();
}
