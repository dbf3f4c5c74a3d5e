/**
 * p50/p99 latency and throughput of GET /api/v1/permissions/check (an API token on a resource
 * reached through an organization role: token lookup, scope chain and role union per request)
 * under 50 concurrent connections, next to GET /health (one SELECT 1) on the same server in the
 * same run as the baseline. Runs against PostgreSQL (BENCH_DATABASE_URL or TEST_DATABASE_URL).
 */
import autocannon from 'autocannon';
import { ROLE } from '../src/lib/roles.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const PORT = 19_000 + Math.floor(Math.random() * 1000);

const database = await scratchDatabase('ktrlplane_bench_perm');
const { token } = await seedBenchTenant(database.db, {
  orgIds: ['bench-org'],
  roleId: ROLE.editor,
  access: 'read-write',
});
await database.db
  .insertInto('ktrlplane.projects')
  .values({ project_id: 'bench-project', org_id: 'bench-org', name: 'Bench' })
  .execute();
await database.db
  .insertInto('ktrlplane.resources')
  .values({
    resource_id: 'bench-graph',
    project_id: 'bench-project',
    name: 'Graph',
    type: 'Konnektr.Graph',
    settings_json: {},
  })
  .execute();

const server = await startServer({ DATABASE_URL: database.url }, PORT);

async function measure(path: string, headers: Record<string, string> = {}) {
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average };
}

try {
  // Warm both paths (JIT, connection pool) before measuring.
  await autocannon({ url: `${server.url}/health`, connections: 10, amount: 500 });
  const baseline = await measure('/health');
  const check = await measure('/api/v1/permissions/check?scopeType=resource&scopeId=bench-graph', {
    Authorization: `Bearer ${token}`,
  });
  console.log(`permission check, ${CONNECTIONS} connections, ${DURATION_S} s each, PostgreSQL`);
  console.log(
    `  baseline GET /health            p50 ${baseline.p50} ms  p99 ${baseline.p99} ms  ${Math.round(baseline.rps)} req/s`,
  );
  console.log(
    `  GET /api/v1/permissions/check  p50 ${check.p50} ms  p99 ${check.p99} ms  ${Math.round(check.rps)} req/s  (${(check.p50 / Math.max(baseline.p50, 0.01)).toFixed(1)}× baseline p50)`,
  );
} finally {
  await server.stop();
  await database.drop();
}
