/**
 * Resource logs on PostgreSQL, three figures, each next to a baseline measured in the same run:
 *
 * 1. Ingestion throughput: OTLP/HTTP JSON batches (BENCH_LOGS_BATCH lines each, default 1,000)
 *    posted to /v1/logs by 8 concurrent senders, authenticated by an ingest token; lines/s from the
 *    first request until every answer (sent after commit) has arrived. The same batches again in
 *    OTLP protobuf (application/x-protobuf), and both decoders alone in this process (decode-only
 *    lines/s, no HTTP, no database), so the encoding's cost is seen apart. Baseline: the same rows
 *    through a raw multi-row `INSERT … VALUES` (Kysely) in batches of the same size, 8 concurrent
 *    workers over a pool as large as the server's. Goal: over 20,000 lines/s.
 * 2. Search latency over BENCH_LOGS_STORED stored lines (default 1,000,000, spread over the last 24
 *    hours across 5 resources of the project, 4% of them errors): p50/p95 of `GET
 *    /api/v1/projects/:p/resources/:r/logs?q=level:error timeout&range=24h` with an API token, one
 *    request at a time. Baseline: the same search (the same repository call, so the same SQL) run
 *    in this process without HTTP. Goal: p95 under 200 ms.
 * 3. Ingest-to-tail delivery: an SSE client follows the resource's stream with `logs=1&q=level:error`;
 *    200 single-line OTLP requests, one every 20 ms, each carrying its send time; p50/p99 from send to
 *    the line's arrival. Baseline: the ingest request's own round trip (acknowledged = committed).
 *    Goal: p99 under 1 s.
 */
import { sql } from 'kysely';
import { openPostgres } from '../src/db/dialects/node.ts';
import { createLogPartitions, insertLogLinesAsValues, type NewLogLine } from '../src/db/logs.repository.ts';
import { sha256Hex } from '../src/lib/crypto.ts';
import { ROLE } from '../src/lib/roles.ts';
import { utcDay } from '../src/services/logs/partitions.ts';
import { ExportLogsServiceRequest } from '../src/services/logs/protobuf-schemas.ts';
import { decodeOtlpProtobuf } from '../src/services/logs/protobuf-wire.ts';
import { searchLogs } from '../src/services/logs/search.ts';
import { decodeOtlpLogs } from '../src/services/logs/wire-formats.ts';
import type { AuthorizedScope } from '../src/services/rbac.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const BATCH = Number(process.env.BENCH_LOGS_BATCH ?? 1_000);
const BATCHES = Number(process.env.BENCH_LOGS_BATCHES ?? 100);
const STORED = Number(process.env.BENCH_LOGS_STORED ?? 1_000_000);
const SEARCHES = Number(process.env.BENCH_LOGS_SEARCHES ?? 100);
const TAIL_LINES = Number(process.env.BENCH_LOGS_TAIL_LINES ?? 200);
const SENDERS = 8;
const POOL_SIZE = 10;
const PORT = 19_000 + Math.floor(Math.random() * 1000);
const RESOURCES = ['api', 'worker', 'web', 'cache', 'queue'];
const INGEST_TOKEN = 'kpi_bench-ingest-token-0123456789abcdefghijklmnop';

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
const ms = (value: number) => `${value.toFixed(1)} ms`;

const database = await scratchDatabase('ktrlplane_bench_logs');
const { token: apiToken } = await seedBenchTenant(database.db, {
  orgIds: ['bench-org'],
  roleId: ROLE.viewer,
  access: 'read',
});
await database.db
  .insertInto('ktrlplane.projects')
  .values({ project_id: 'bench-project', org_id: 'bench-org', name: 'Bench' })
  .execute();
for (const resourceId of RESOURCES) {
  await database.db
    .insertInto('ktrlplane.resources')
    .values({
      resource_id: resourceId,
      project_id: 'bench-project',
      name: resourceId,
      type: 'Konnektr.Flows',
      settings_json: JSON.stringify({}),
    })
    .execute();
}
await database.db
  .insertInto('ktrlplane.ingest_tokens')
  .values({
    token_id: 'itk-bench',
    project_id: 'bench-project',
    name: 'bench',
    token_hash: await sha256Hex(INGEST_TOKEN),
    created_by: null,
    created_at: new Date(),
    last_used_at: null,
    revoked_at: null,
  })
  .execute();

const server = await startServer({ DATABASE_URL: database.url, PLAN_WITHOUT_BILLING: 'standard' }, PORT);
const pool = openPostgres(database.url, { max: POOL_SIZE });

const WORDS = [
  'request',
  'served',
  'cache',
  'miss',
  'hit',
  'user',
  'order',
  'payment',
  'queue',
  'job',
  'retry',
  'connection',
  'db',
  'slow',
];
function messageFor(i: number, level: string): string {
  const word = (k: number) => WORDS[(i * 7 + k * 13) % WORDS.length];
  const rare = level === 'error' && i % 5 === 0 ? ' timeout' : '';
  return `${word(1)} ${word(2)} ${word(3)} id=${i}${rare}`;
}
function levelFor(i: number): string {
  return i % 25 === 0 ? 'error' : i % 10 === 0 ? 'warn' : 'info';
}

// ---- 1. ingestion -----------------------------------------------------------------------------
const severity: Record<string, number> = { info: 9, warn: 13, error: 17 };
function otlpBatch(batch: number): { body: string; protobuf: Uint8Array<ArrayBuffer>; rows: NewLogLine[] } {
  const now = Date.now();
  const records = [];
  const rows: NewLogLine[] = [];
  for (let k = 0; k < BATCH; k++) {
    const i = batch * BATCH + k;
    const level = levelFor(i);
    const ts = now - (BATCH - k);
    const message = messageFor(i, level);
    records.push({
      timeUnixNano: `${ts}000000`,
      severityNumber: severity[level],
      body: { stringValue: message },
      attributes: [{ key: 'http.status', value: { intValue: String(200 + (i % 4) * 100) } }],
    });
    rows.push({
      retention_days: 30,
      ts: new Date(ts),
      received_at: new Date(now),
      project_id: 'bench-project',
      resource_id: 'api',
      level: level as NewLogLine['level'],
      message,
      attributes: { 'http.status': 200 + (i % 4) * 100, 'service.name': 'api' },
      source: 'otlp',
    });
  }
  const request = {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'resource_id', value: { stringValue: 'api' } },
            { key: 'service.name', value: { stringValue: 'api' } },
          ],
        },
        scopeLogs: [{ scope: { name: 'bench' }, logRecords: records }],
      },
    ],
  };
  // The same request in protobuf, encoded by protobufjs from its proto3 JSON form.
  const protobuf = new Uint8Array(
    ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(request)).finish(),
  );
  return { body: JSON.stringify(request), protobuf, rows };
}

async function concurrently(
  count: number,
  workers: number,
  task: (index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < count) {
        const index = next++;
        await task(index);
      }
    }),
  );
  return performance.now() - started;
}

const batches = Array.from({ length: BATCHES }, (_, b) => otlpBatch(b));
const today = utcDay(new Date());
await createLogPartitions(database.db, [
  { retentionDays: 30, day: new Date(today.getTime() - 86_400_000) },
  { retentionDays: 30, day: today },
  { retentionDays: 30, day: new Date(today.getTime() + 86_400_000) },
]);
// Warm the server (token lookup, plan, partitions cache, both decoders).
for (const [type, body] of [
  ['application/json', otlpBatch(BATCHES).body],
  ['application/x-protobuf', otlpBatch(BATCHES + 1).protobuf],
] as const) {
  await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': type },
    body,
  });
}
const otlpMs = await concurrently(BATCHES, SENDERS, async (index) => {
  const res = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/json' },
    body: batches[index]?.body,
  });
  const answer = (await res.json()) as { partialSuccess?: unknown };
  if (res.status !== 200 || answer.partialSuccess)
    throw new Error(`ingest failed: ${res.status} ${JSON.stringify(answer)}`);
});
const protobufMs = await concurrently(BATCHES, SENDERS, async (index) => {
  const res = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/x-protobuf' },
    body: batches[index]?.protobuf,
  });
  const answer = (await res.json()) as { partialSuccess?: unknown };
  if (res.status !== 200 || answer.partialSuccess)
    throw new Error(`protobuf ingest failed: ${res.status} ${JSON.stringify(answer)}`);
});
// Decoding alone, one batch after another in this process (what the encoding costs the server).
function decodeRate(decode: (index: number) => number): number {
  for (let index = 0; index < BATCHES; index++) decode(index); // warm-up pass
  let decoded = 0;
  const started = performance.now();
  for (let index = 0; index < BATCHES; index++) decoded += decode(index);
  return decoded / ((performance.now() - started) / 1000);
}
const jsonDecodeRate = decodeRate((index) => decodeOtlpLogs(JSON.parse(batches[index]?.body ?? '{}')).length);
const protobufDecodeRate = decodeRate(
  (index) => decodeOtlpProtobuf(batches[index]?.protobuf ?? new Uint8Array()).length,
);
const rawMs = await concurrently(BATCHES, SENDERS, async (index) => {
  await insertLogLinesAsValues(pool.db, batches[index]?.rows ?? []);
});
const lines = BATCHES * BATCH;
const otlpRate = lines / (otlpMs / 1000);
const protobufRate = lines / (protobufMs / 1000);
const sizeOf = (pick: (batch: (typeof batches)[number]) => number) =>
  Math.round(batches.reduce((sum, batch) => sum + pick(batch), 0) / batches.length / 1024);
const rawRate = lines / (rawMs / 1000);
console.log(
  `ingestion: ${lines.toLocaleString('en-US')} lines in batches of ${BATCH}, ${SENDERS} concurrent senders`,
);
console.log(
  `  OTLP/HTTP JSON /v1/logs (acknowledged = committed): ${Math.round(otlpRate).toLocaleString('en-US')} lines/s`,
);
console.log(
  `  OTLP/HTTP protobuf /v1/logs (the same batches):     ${Math.round(protobufRate).toLocaleString('en-US')} lines/s`,
);
console.log(
  `  baseline raw multi-row INSERT … VALUES:             ${Math.round(rawRate).toLocaleString('en-US')} lines/s`,
);
console.log(
  `  batch size: JSON ${sizeOf((b) => new TextEncoder().encode(b.body).byteLength)} KiB, protobuf ${sizeOf((b) => b.protobuf.byteLength)} KiB; decode only: JSON ${Math.round(jsonDecodeRate).toLocaleString('en-US')} lines/s, protobuf ${Math.round(protobufDecodeRate).toLocaleString('en-US')} lines/s`,
);
console.log(
  `  ratio ${(otlpRate / rawRate).toFixed(2)} JSON, ${(protobufRate / rawRate).toFixed(2)} protobuf (goal: over 20,000 lines/s)`,
);

// ---- 2. search over STORED lines --------------------------------------------------------------
await sql`TRUNCATE ktrlplane.logs`.execute(database.db);
const loadStarted = performance.now();
const now = Date.now();
// Spread over the last 24 h (two UTC days at most), 5 resources, 4% errors of which a fifth say "timeout".
const CHUNK = 200_000;
for (let start = 0; start < STORED; start += CHUNK) {
  const end = Math.min(STORED, start + CHUNK);
  await sql`
    INSERT INTO ktrlplane.logs (retention_days, ts, received_at, project_id, resource_id, level, message, attributes, source)
    SELECT 30, timestamptz 'epoch' + (${now}::bigint - (i::bigint * 86400000 / ${STORED}::bigint)) * interval '1 millisecond', now(), 'bench-project',
           (ARRAY['api','worker','web','cache','queue'])[1 + i % 5],
           CASE WHEN i % 25 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'warn' ELSE 'info' END,
           (ARRAY['request','served','cache','miss','hit','user','order','payment','queue','job','retry','connection','db','slow'])[1 + (i * 7 + 13) % 14]
             || ' ' || (ARRAY['request','served','cache','miss','hit','user','order','payment','queue','job','retry','connection','db','slow'])[1 + (i * 7 + 26) % 14]
             || ' id=' || i
             || CASE WHEN i % 25 = 0 AND i % 125 = 0 THEN ' timeout' ELSE '' END,
           jsonb_build_object('http.status', 200 + (i % 4) * 100), 'otlp'
      FROM generate_series(${start}::int, ${end - 1}::int) AS i`.execute(database.db);
}
await sql`ANALYZE ktrlplane.logs`.execute(database.db);
console.log(
  `\nsearch: ${STORED.toLocaleString('en-US')} lines stored over 24 h in ${((performance.now() - loadStarted) / 1000).toFixed(0)} s`,
);

const query = 'level:error timeout';
const searchUrl = `${server.url}/api/v1/projects/bench-project/resources/api/logs?q=${encodeURIComponent(query)}&range=24h&limit=100`;
const httpTimes: number[] = [];
let found = 0;
for (let i = 0; i < SEARCHES + 5; i++) {
  const started = performance.now();
  const res = await fetch(searchUrl, { headers: { Authorization: `Bearer ${apiToken}` } });
  const body = (await res.json()) as { entries: unknown[] };
  if (res.status !== 200) throw new Error(`search failed: ${res.status}`);
  if (i >= 5) httpTimes.push(performance.now() - started);
  found = body.entries.length;
}
const scope = {
  type: 'resource',
  id: 'api',
  orgId: 'bench-org',
  projectId: 'bench-project',
  resourceId: 'api',
  actions: new Set(['read']),
} as unknown as AuthorizedScope<'resource'>;
const directTimes: number[] = [];
for (let i = 0; i < SEARCHES + 5; i++) {
  const started = performance.now();
  await searchLogs(pool.db, scope, { q: query, range: '24h', limit: 100 }, new Date());
  if (i >= 5) directTimes.push(performance.now() - started);
}
console.log(`  "${query}" over 24 h of resource api, first 100 of the matches (${found} returned)`);
console.log(
  `  GET …/logs (HTTP, API token):   p50 ${ms(percentile(httpTimes, 50))}, p95 ${ms(percentile(httpTimes, 95))}`,
);
console.log(
  `  baseline same search in-process: p50 ${ms(percentile(directTimes, 50))}, p95 ${ms(percentile(directTimes, 95))}`,
);
console.log('  goal: p95 under 200 ms');

// ---- 3. ingest → tail -------------------------------------------------------------------------
const arrivals = new Map<string, number>();
const controller = new AbortController();
const stream = await fetch(
  `${server.url}/api/v1/projects/bench-project/resources/api/events?logs=1&q=${encodeURIComponent('level:error')}`,
  { headers: { Authorization: `Bearer ${apiToken}` }, signal: controller.signal },
);
if (stream.status !== 200 || !stream.body) throw new Error(`tail stream failed: ${stream.status}`);
const reading = (async () => {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (message.startsWith('event: log')) {
          const data = JSON.parse(message.slice(message.indexOf('data: ') + 6)) as { message: string };
          arrivals.set(data.message, wallNow());
        }
        end = buffer.indexOf('\n\n');
      }
    }
  } catch {
    // aborted at the end
  }
})();
await sleep(500);
const sent = new Map<string, number>();
const ackTimes: number[] = [];
for (let i = 0; i < TAIL_LINES; i++) {
  const message = `tail probe ${i}`;
  const at = wallNow();
  sent.set(message, at);
  const body = JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'resource_id', value: { stringValue: 'api' } }] },
        scopeLogs: [
          {
            logRecords: [
              { timeUnixNano: `${Date.now()}000000`, severityNumber: 17, body: { stringValue: message } },
            ],
          },
        ],
      },
    ],
  });
  const res = await fetch(`${server.url}/v1/logs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  ackTimes.push(wallNow() - at);
  await sleep(20);
}
const deadline = Date.now() + 5_000;
while (arrivals.size < TAIL_LINES && Date.now() < deadline) await sleep(50);
controller.abort();
await reading;
const delays = [...sent].flatMap(([message, at]) => {
  const arrived = arrivals.get(message);
  return arrived === undefined ? [] : [arrived - at];
});
console.log(
  `\ningest → tail: ${TAIL_LINES} single-line OTLP requests, one every 20 ms; ${delays.length} arrived`,
);
console.log(
  `  send → line on the SSE stream: p50 ${ms(percentile(delays, 50))}, p99 ${ms(percentile(delays, 99))}`,
);
console.log(
  `  baseline ingest round trip:    p50 ${ms(percentile(ackTimes, 50))}, p99 ${ms(percentile(ackTimes, 99))}`,
);
console.log('  goal: p99 under 1 s');
const load = (await import('node:os')).loadavg();
console.log(`\nmachine load average: ${load.map((value) => value.toFixed(2)).join(' ')}`);

await server.stop();
await pool.close();
await database.drop();
