/**
 * The cost of observability: p50/p99 latency and throughput of a database-backed GET
 * (GET /api/v1/organizations with an API token: token lookup, role scan, organization list) on
 * three servers started side by side on the same PostgreSQL database, measured in the same run:
 *
 * - off:         LOG_LEVEL=silent, OTEL_SDK_DISABLED=true, no METRICS_TOKEN / METRICS_PORT;
 * - on:          JSON access log at info, tracing SDK (trace ids in every line, nothing exported),
 *                Prometheus metrics (METRICS_TOKEN set) — the default production set-up;
 * - on+export:   the same, exporting every span (request + its statements) over OTLP/HTTP to a
 *                local receiver that discards them.
 *
 * Latency is taken one request at a time over a keep-alive connection (so it is the server's cost,
 * not queueing), in interleaved rounds so drift hits every configuration alike; throughput with
 * autocannon at 50 connections. The goal: under 0.1 ms added at p50 with observability on.
 */
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { ROLE } from '../src/lib/roles.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROUNDS = 10 * RUNS;
const REQUESTS_PER_ROUND = 200;
const BASE_PORT = 19_000 + Math.floor(Math.random() * 900);
const PATH = '/api/v1/organizations';

let token = '';
const database = await scratchDatabase('ktrlplane_bench_obs');
try {
  await seed();
} catch (error) {
  await database.drop();
  throw error;
}

// An OTLP/HTTP receiver that reads and discards what it is sent.
let exportedBytes = 0;
const receiver = createHttpServer((req, res) => {
  req.on('data', (chunk: Buffer) => {
    exportedBytes += chunk.length;
  });
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const common = { DATABASE_URL: database.url, JOBS_ENABLED: 'false' };
const configs = [
  { name: 'off', env: { ...common, LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true' } },
  { name: 'on', env: { ...common, LOG_LEVEL: 'info', METRICS_TOKEN: 'bench-metrics-token-0123456789' } },
  {
    name: 'on+export',
    env: {
      ...common,
      LOG_LEVEL: 'info',
      METRICS_TOKEN: 'bench-metrics-token-0123456789',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    },
  },
] as const;

const servers = await Promise.all(configs.map((config, i) => startServer(config.env, BASE_PORT + i)));
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET over the keep-alive connection; answers its latency in ms. */
function timedGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(
      `${url}${PATH}`,
      { agent, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${url}${PATH}: ${res.statusCode}`));
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

try {
  // Warm every server (JIT, pool, token cache) before measuring.
  for (const server of servers) {
    for (let i = 0; i < 500; i++) await timedGet(server.url);
  }
  // Short rounds, the order of the configurations rotating, so a noisy moment of the machine hits
  // each alike; the added latency is the median over rounds of each round's p50 difference.
  const samples = configs.map(() => [] as number[]);
  const roundP50s = configs.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const i = (round + k) % servers.length;
      const server = servers[i] as (typeof servers)[number];
      const times: number[] = [];
      for (let n = 0; n < REQUESTS_PER_ROUND; n++) times.push(await timedGet(server.url));
      samples[i]?.push(...times);
      roundP50s[i]?.push(
        percentile(
          times.sort((x, y) => x - y),
          50,
        ),
      );
    }
  }
  const latency = samples.map((values, i) => {
    const sorted = [...values].sort((a, b) => a - b);
    const added = (roundP50s[i] ?? []).map((p50, round) => p50 - (roundP50s[0]?.[round] ?? 0));
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), added: median(added) };
  });

  // Throughput: BENCH_RUNS passes over the configurations (rotating), the median of each.
  const passes = configs.map(() => [] as Array<{ p50: number; p99: number; rps: number }>);
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < servers.length; k++) {
      const i = (run + k) % servers.length;
      const result = await autocannon({
        url: `${(servers[i] as (typeof servers)[number]).url}${PATH}`,
        connections: CONNECTIONS,
        duration: DURATION_S,
        headers: { Authorization: `Bearer ${token}` },
      });
      if (result.non2xx > 0 || result.errors > 0) {
        throw new Error(`${configs[i]?.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      }
      passes[i]?.push({ p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average });
    }
  }
  const throughput = passes.map((runs) => ({
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    rps: median(runs.map((r) => r.rps)),
  }));

  const us = (ms: number) => `${Math.round(ms * 1000)} µs`;
  console.log(
    `observability cost, GET ${PATH} (API token), PostgreSQL; ${ROUNDS}×${REQUESTS_PER_ROUND} sequential requests per configuration, then ${RUNS}× ${CONNECTIONS} connections for ${DURATION_S} s (medians)`,
  );
  console.log('  config      sequential p50   p99        added p50   |  50 conns p50  p99    req/s');
  for (const [i, config] of configs.entries()) {
    const l = latency[i] as { p50: number; p99: number; added: number };
    const t = throughput[i] as { p50: number; p99: number; rps: number };
    console.log(
      `  ${config.name.padEnd(10)}  ${us(l.p50).padStart(8)}   ${us(l.p99).padStart(8)}   ${(i === 0 ? '(baseline)' : `${l.added >= 0 ? '+' : ''}${us(l.added)}`).padStart(10)}   |  ${`${t.p50} ms`.padStart(6)}  ${`${t.p99} ms`.padStart(5)}  ${Math.round(t.rps)}`,
    );
  }
  const added = latency[1]?.added ?? 0;
  console.log(
    `  observability on adds ${us(added)} at p50 (goal < 100 µs): ${added < 0.1 ? 'met' : 'NOT met'}; ${Math.round(exportedBytes / 1024)} KiB of spans exported by on+export`,
  );
} finally {
  agent.destroy();
  await Promise.all(servers.map((server) => server.stop()));
  receiver.close();
  await database.drop();
}

/** The caller: a user owning five organizations, with a read-only API token. */
async function seed() {
  const orgIds = Array.from({ length: 5 }, (_, i) => `bench-org-${i}`);
  token = (await seedBenchTenant(database.db, { orgIds, roleId: ROLE.owner, access: 'read' })).token;
}
