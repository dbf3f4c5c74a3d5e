/**
 * GET /api/v1/projects/:projectId/resources (50 resources, 32 connections, PostgreSQL) against
 * its ceiling measured in the same run: a plain `pg` loop with 32 concurrent workers running the
 * same SQL the request runs (API token with its owner, scope chain with the role union, the list)
 * with no HTTP, no framework and no JSON. Goal: the route reaches at least half the ceiling.
 */
import autocannon from 'autocannon';
import pg from 'pg';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CONNECTIONS = 32;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
const PORT = 19_000 + Math.floor(Math.random() * 1000);

const database = await scratchDatabase('ktrlplane_bench_list');
const { token, tokenHash } = await seedBenchTenant(database.db, {
  orgIds: ['bench-org'],
  roleId: 'viewer',
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

/** The ceiling: the same statements, straight through pg, 32 at a time. */
async function plainPgLoop(): Promise<{ p50: number; p99: number; rps: number }> {
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  const latencies: number[] = [];
  const deadline = performance.now() + DURATION_S * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const t = new Date();
      const tok = await pool.query(
        `SELECT t.*, u.email, u.name AS user_name, u.is_platform_admin, u.kind FROM ktrlplane.api_tokens t
           JOIN ktrlplane.users u ON u.user_id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)`,
        [tokenHash, t],
      );
      await pool.query(
        `WITH chain AS (SELECT p.org_id, p.project_id, NULL::text AS resource_id FROM ktrlplane.projects p WHERE p.project_id = $2)
         SELECT chain.*, (SELECT array_agg(DISTINCT perm.action ORDER BY perm.action)
             FROM ktrlplane.role_assignments ra
             JOIN ktrlplane.role_permissions rp ON rp.role_id = ra.role_id
             JOIN ktrlplane.permissions perm ON perm.permission_id = rp.permission_id
            WHERE ra.user_id = $1 AND (ra.expires_at IS NULL OR ra.expires_at > $3)
              AND ((ra.scope_type = 'global' AND ra.scope_id = 'global') OR (ra.scope_type = 'organization' AND ra.scope_id = chain.org_id)
                OR (ra.scope_type = 'project' AND ra.scope_id = chain.project_id) OR (ra.scope_type = 'resource' AND ra.scope_id = chain.resource_id))) AS actions
         FROM chain`,
        [tok.rows[0].user_id, 'bench-project', t],
      );
      await pool.query('SELECT * FROM ktrlplane.resources WHERE project_id = $1 ORDER BY name', [
        'bench-project',
      ]);
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
