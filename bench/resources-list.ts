/**
 * GET /api/v1/projects/:projectId/resources (50 resources, 32 connections, PostgreSQL) against
 * its ceiling measured in the same run: a plain `pg` loop with 32 concurrent workers running the
 * same SQL the request runs (API token with its owner, scope chain with the role union, the list)
 * with no HTTP, no framework and no JSON. Goal: the route reaches at least half the ceiling.
 */
import autocannon from 'autocannon';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { findActiveApiToken } from '../src/db/api-tokens.repository.ts';
import { listResourcesInProject } from '../src/db/resources.repository.ts';
import { normalisedPgTypes } from '../src/db/type-parsers.ts';
import type { Database } from '../src/db/types.ts';
import { ROLE } from '../src/lib/roles.ts';
import { authorize } from '../src/services/rbac.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CONNECTIONS = 32;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const PORT = 19_000 + Math.floor(Math.random() * 1000);

const database = await scratchDatabase('ktrlplane_bench_list');
const { token, tokenHash } = await seedBenchTenant(database.db, {
  orgIds: ['bench-org'],
  roleId: ROLE.viewer,
  access: 'read',
});
await database.db
  .insertInto('ktrlplane.projects')
  .values({ project_id: 'bench-project', org_id: 'bench-org', name: 'Bench' })
  .execute();
for (let i = 0; i < 50; i++) {
  await database.db
    .insertInto('ktrlplane.resources')
    .values({
      resource_id: `flow-${i}`,
      project_id: 'bench-project',
      name: `Flow ${i}`,
      type: 'Konnektr.Flows',
      sku: 'standard',
      settings_json: JSON.stringify({
        replicas: 2,
        memoryLimit: '512Mi',
        cpuLimit: '500m',
        environment: { MODE: 'bench', INDEX: String(i) },
      }),
    })
    .execute();
}

interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * The statements the route runs, in its order, written by the route's own code: the token with its
 * owner (authentication), the scope chain with the role union (requireAccess), the list. Captured
 * once from Kysely's query log, so the ceiling runs exactly the SQL the route does, and follows it
 * when that changes.
 */
async function routeStatements(): Promise<Statement[]> {
  const captured: Statement[] = [];
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: database.url, max: 1, types: normalisedPgTypes(pg.types) }),
    }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  });
  const now = new Date();
  const found = await findActiveApiToken(db, tokenHash, now);
  if (!found) throw new Error('the bench token was not found');
  const principal = {
    userId: found.user.user_id,
    email: found.user.email,
    name: found.user.name,
    kind: found.user.kind,
    isPlatformAdmin: found.user.is_platform_admin,
    via: 'api-token' as const,
    token: {
      tokenId: found.token.token_id,
      scopeType: found.token.scope_type,
      scopeId: found.token.scope_id,
      access: found.token.access,
    },
  };
  await listResourcesInProject(db, await authorize(db, principal, 'read', 'project', 'bench-project', now));
  await db.destroy();
  if (captured.length !== 3)
    throw new Error(`expected the route's 3 statements, captured ${captured.length}`);
  return captured;
}

/** The ceiling: the same statements, straight through pg (parsing rows as the app does), 32 at a time. */
async function plainPgLoop(): Promise<{ p50: number; p99: number; rps: number }> {
  const statements = await routeStatements();
  const pool = new pg.Pool({ connectionString: database.url, max: 10, types: normalisedPgTypes(pg.types) });
  const latencies: number[] = [];
  const deadline = performance.now() + DURATION_S * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      // Each request takes the time afresh (token expiry, role expiry), like the route's clock.
      const now = new Date();
      for (const statement of statements) {
        await pool.query(
          statement.sql,
          statement.parameters.map((value) => (value instanceof Date ? now : value)),
        );
      }
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  await pool.end();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round((latencies[Math.floor(latencies.length * q)] ?? Number.NaN) * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), rps: latencies.length / DURATION_S };
}

const server = await startServer({ DATABASE_URL: database.url }, PORT);
try {
  const url = `${server.url}/api/v1/projects/bench-project/resources`;
  const headers = { Authorization: `Bearer ${token}` };
  const check = await fetch(url, { headers });
  const listed = (await check.json()) as unknown[];
  if (listed.length !== 50) throw new Error(`expected 50 resources, got ${listed.length}`);
  await autocannon({ url, headers, connections: 8, amount: 500 });
  const ceiling = await plainPgLoop();
  const route = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  if (route.non2xx > 0 || route.errors > 0)
    throw new Error(`${route.non2xx} non-2xx, ${route.errors} errors`);
  const ratio = route.requests.average / ceiling.rps;
  console.log(`resource list, 50 resources, ${CONNECTIONS} concurrent, ${DURATION_S} s each, PostgreSQL`);
  console.log(
    `  ceiling: plain pg loop, same SQL   p50 ${ceiling.p50} ms  p99 ${ceiling.p99} ms  ${Math.round(ceiling.rps)} req/s`,
  );
  console.log(
    `  GET /api/v1/projects/:id/resources p50 ${route.latency.p50} ms  p99 ${route.latency.p99} ms  ${Math.round(route.requests.average)} req/s  (${(ratio * 100).toFixed(0)}% of the ceiling; goal ≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`,
  );
} finally {
  await server.stop();
  await database.drop();
}
