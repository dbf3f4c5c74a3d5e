/**
 * 2,000 concurrent SSE clients on one Node server process with PostgreSQL: the time from an
 * operator-style `UPDATE ktrlplane.resources SET status = …` (raw SQL, as db-query-operator writes
 * it) to the event's arrival at every client, p50/p99 over several updates, and the server's memory
 * per open stream. Baseline in the same run: the same updates with one client connected. Clients
 * live in child processes (bench/lib/sse-clients.ts) so their parsing does not take the server's
 * CPU; latency is measured on the same machine's wall clock. Goal: p99 < 500 ms.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import pg from 'pg';
import { ROLE } from '../src/lib/roles.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 2_000);
const UPDATES = Number(process.env.BENCH_SSE_UPDATES ?? 10);
const PROCESSES = Number(process.env.BENCH_SSE_PROCESSES ?? 2);
const PORT = 19_000 + Math.floor(Math.random() * 1000);
const METRICS_TOKEN = 'bench-metrics-token-0123456789';

const wallNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const database = await scratchDatabase('ktrlplane_bench_sse');
const { token } = await seedBenchTenant(database.db, {
  orgIds: ['bench-org'],
  roleId: ROLE.viewer,
  access: 'read',
});
await database.db
  .insertInto('ktrlplane.projects')
  .values({ project_id: 'bench-project', org_id: 'bench-org', name: 'Bench' })
  .execute();
await database.db
  .insertInto('ktrlplane.resources')
  .values({
    resource_id: 'bench-res',
    project_id: 'bench-project',
    name: 'Bench',
    type: 'Konnektr.Flows',
    sku: 'standard',
    settings_json: JSON.stringify({ replicas: 2 }),
  })
  .execute();

interface ClientProcess {
  child: ChildProcess;
  ask<T>(message: Record<string, unknown>): Promise<T>;
}

function clientProcess(): ClientProcess {
  const child = fork('bench/lib/sse-clients.ts', [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return {
    child,
    ask: (message) =>
      new Promise((resolve) => {
        child.once('message', (reply) => resolve(reply as never));
        child.send(message);
      }),
  };
}

async function connectClients(processes: ClientProcess[], url: string, total: number): Promise<void> {
  const replies = await Promise.all(
    processes.map((p, i) =>
      p.ask<{ connected?: number; error?: string }>({
        cmd: 'connect',
        url,
        token,
        count: Math.floor(total / processes.length) + (i < total % processes.length ? 1 : 0),
      }),
    ),
  );
  const failed = replies.find((reply) => reply.error);
  if (failed) throw new Error(`connecting clients failed: ${failed.error}`);
  const connected = replies.reduce((sum, reply) => sum + (reply.connected ?? 0), 0);
  if (connected !== total) throw new Error(`${connected} of ${total} clients connected`);
}

/** UPDATEs the status `updates` times and answers the update → arrival time at every client. */
async function measure(pgClient: pg.Client, processes: ClientProcess[], updates = UPDATES) {
  const latencies: number[] = [];
  let missing = 0;
  for (let i = 0; i < updates; i++) {
    const started = wallNow();
    await pgClient.query(`UPDATE ktrlplane.resources SET status = $1 WHERE resource_id = 'bench-res'`, [
      i % 2 === 0 ? 'Progressing' : 'Healthy',
    ]);
    const { rows } = await pgClient.query<{ id: string }>(
      `SELECT max(event_id) AS id FROM ktrlplane.resource_deployments WHERE resource_id = 'bench-res'`,
    );
    const eventId = Number(rows[0]?.id);
    const replies = await Promise.all(
      processes.map((p) =>
        p.ask<{ times: number[]; missing: number }>({ cmd: 'collect', eventId, timeoutMs: 10_000 }),
      ),
    );
    for (const reply of replies) {
      for (const at of reply.times) latencies.push(at - started);
      missing += reply.missing;
    }
    await sleep(250);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.floor((latencies.length - 1) * q)] ?? Number.NaN) * 10) / 10;
  return { p50: at(0.5), p99: at(0.99), max: at(1), samples: latencies.length, missing };
}

/** Resident set and V8 heap of the server process, from its own /metrics (median of 3 reads). */
async function serverMemory(url: string): Promise<{ rss: number; heap: number }> {
  const samples: Array<{ rss: number; heap: number }> = [];
  for (let i = 0; i < 3; i++) {
    const text = await (
      await fetch(`${url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    samples.push({ rss: value('process_resident_memory_bytes'), heap: value('nodejs_heap_size_used_bytes') });
    await sleep(500);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[1] ?? Number.NaN;
  return { rss: median(samples.map((s) => s.rss)), heap: median(samples.map((s) => s.heap)) };
}

// Every client is the same user, so the per-user and per-process stream caps (README "Security")
// are lifted to the bench's own size: it measures fan-out, not the caps.
const server = await startServer(
  {
    DATABASE_URL: database.url,
    METRICS_TOKEN,
    SSE_STREAMS_PER_USER: String(Math.max(100_000, 2 * CLIENTS)),
    SSE_STREAMS_PER_PROCESS: String(Math.max(100_000, 2 * CLIENTS)),
  },
  PORT,
);
const pgClient = new pg.Client({ connectionString: database.url });
await pgClient.connect();
const processes: ClientProcess[] = [];
try {
  const url = `${server.url}/api/v1/projects/bench-project/resources/bench-res/events`;
  // Warm up: the hub starts with the first stream; routes and queries get compiled.
  const baselineProcess = clientProcess();
  processes.push(baselineProcess);
  await connectClients([baselineProcess], url, 1);
  await measure(pgClient, [baselineProcess]);
  const baseline = await measure(pgClient, [baselineProcess]);
  const before = await serverMemory(server.url);

  const crowd = Array.from({ length: PROCESSES }, clientProcess);
  processes.push(...crowd);
  const connectStarted = performance.now();
  await connectClients(crowd, url, CLIENTS);
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  await sleep(2_000);
  const after = await serverMemory(server.url);
  // Two rounds apart, as for the baseline: the first fan-outs to 2,000 streams run before V8 has
  // optimised that path and right after 2,000 connections were set up.
  const first = await measure(pgClient, [baselineProcess, ...crowd], 2);
  const loaded = await measure(pgClient, [baselineProcess, ...crowd]);

  const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
  console.log(
    `SSE fan-out: one Node server process, PostgreSQL (one LISTEN connection), ${UPDATES} operator UPDATEs per phase`,
  );
  console.log(
    `  baseline, 1 client           p50 ${baseline.p50} ms  p99 ${baseline.p99} ms  max ${baseline.max} ms  (${baseline.samples} deliveries, ${baseline.missing} missing)`,
  );
  console.log(
    `  ${CLIENTS + 1} clients (${PROCESSES} procs)  p50 ${loaded.p50} ms  p99 ${loaded.p99} ms  max ${loaded.max} ms  (${loaded.samples} deliveries, ${loaded.missing} missing; goal p99 < 500 ms: ${loaded.p99 < 500 && loaded.missing === 0 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `  (the first 2 updates after connecting, not counted above: p50 ${first.p50} ms  p99 ${first.p99} ms  max ${first.max} ms)`,
  );
  console.log(
    `  ${CLIENTS} streams opened in ${connectSeconds.toFixed(1)} s; machine load average ${loadavg()
      .map((load) => load.toFixed(1))
      .join(' ')} on ${availableParallelism()} CPUs (other work on the machine shows in the tail)`,
  );
  console.log(
    `  server memory per stream: RSS ${kib((after.rss - before.rss) / CLIENTS)}, V8 heap ${kib((after.heap - before.heap) / CLIENTS)}  (RSS ${mib(before.rss)} → ${mib(after.rss)}, heap ${mib(before.heap)} → ${mib(after.heap)})`,
  );
} finally {
  for (const p of processes) p.child.send({ cmd: 'close' });
  await pgClient.end();
  await server.stop();
  await database.drop();
}
