/**
 * Usage event ingestion, end to end: 4 concurrent clients POST batches of 1,000 events to
 * /api/v1/usage/events (API token, PostgreSQL, the real server in its own process); 10% of each
 * batch repeats events already sent (same id and payload: answered as duplicates). The figure is
 * events/s (duplicates included) from the first request to the last answer.
 *
 * Ceiling in the same run: the same events, batch for batch, inserted by 4 concurrent plain `pg`
 * workers with one multi-row `INSERT … VALUES … ON CONFLICT DO NOTHING` per batch (rows sorted by id,
 * as the route sorts them, or concurrent batches sharing ids deadlock) into the same table (emptied
 * first). Then the rollup: 1,000,000 events in the table, every hour they touch
 * queued, and the time `rollupUsage` takes to aggregate them per minute and hour.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { ROLE } from '../src/lib/roles.ts';
import { rollupUsage } from '../src/services/usage/rollup.ts';
import { seedBenchTenant } from './lib/seed.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CLIENTS = 4;
const BATCH = 1000;
const BATCHES = Number(process.env.BENCH_USAGE_BATCHES ?? 160);
const DUPLICATE_SHARE = 0.1;
const RESOURCES = 20;
const ROLLUP_EVENTS = Number(process.env.BENCH_ROLLUP_EVENTS ?? 1_000_000);
const METRICS = ['graph_queries', 'peak_connections', 'flow_runs', 'backup_size_gb', 'active_users'];
const PORT = 19_000 + Math.floor(Math.random() * 1000);
const BASE = Date.UTC(2026, 10, 20);

interface UsageEvent {
  id: string;
  metric: string;
  resourceId: string;
  time: string;
  value: number;
  attributes?: Record<string, string>;
}

function makeEvent(sequence: number): UsageEvent {
  const metric = METRICS[sequence % METRICS.length] as string;
  return {
    id: `ev-${sequence}`,
    metric,
    resourceId: `res-${sequence % RESOURCES}`,
    // Spread over two days, to the millisecond.
    time: new Date(BASE + ((sequence * 7919) % (48 * 3_600_000))).toISOString(),
    value: (sequence % 97) + 1,
    ...(metric === 'active_users' ? { attributes: { user: `u-${sequence % 50}` } } : {}),
  };
}

/** Batches of 1,000: 900 new events and 100 repeats of events of earlier batches. */
function makeBatches(): UsageEvent[][] {
  const batches: UsageEvent[][] = [];
  let next = 0;
  const fresh = Math.round(BATCH * (1 - DUPLICATE_SHARE));
  for (let index = 0; index < BATCHES; index++) {
    const batch: UsageEvent[] = [];
    for (let n = 0; n < fresh; n++) batch.push(makeEvent(next++));
    for (let n = 0; n < BATCH - fresh; n++) batch.push(makeEvent(Math.floor(Math.random() * next)));
    batches.push(batch);
  }
  return batches;
}

const database = await scratchDatabase('ktrlplane_bench_usage');
try {
  const tenant = await seedBenchTenant(database.db, {
    orgIds: ['bench-org'],
    roleId: ROLE.owner,
    access: 'read-write',
  });
  await database.db
    .insertInto('ktrlplane.projects')
    .values({ project_id: 'bench-proj', org_id: 'bench-org', name: 'bench' })
    .execute();
  for (let index = 0; index < RESOURCES; index++) {
    await database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: `res-${index}`,
        project_id: 'bench-proj',
        name: `res-${index}`,
        type: 'Konnektr.Graph',
        settings_json: '{}',
      })
      .execute();
  }
  const batches = makeBatches();
  const bodies = batches.map((events) => JSON.stringify({ events }));
  const total = BATCHES * BATCH;

  // The route.
  const server = await startServer({ DATABASE_URL: database.url }, PORT);
  let routeSeconds: number;
  let accepted = 0;
  let duplicates = 0;
  try {
    // Warm-up: one small batch (connections, JIT), not counted.
    await fetch(`${server.url}/api/v1/usage/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: [{ ...makeEvent(-1), id: 'warm-up' }] }),
    });
    let cursor = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (;;) {
          const index = cursor++;
          if (index >= bodies.length) return;
          const res = await fetch(`${server.url}/api/v1/usage/events`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/json' },
            body: bodies[index],
          });
          const answer = (await res.json()) as { accepted: number; duplicates: number };
          if (res.status !== 200)
            throw new Error(`batch ${index}: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
          accepted += answer.accepted;
          duplicates += answer.duplicates;
        }
      }),
    );
    routeSeconds = (performance.now() - started) / 1000;
  } finally {
    await server.stop();
  }

  // The ceiling: the same batches, multi-row INSERT … ON CONFLICT DO NOTHING over plain pg.
  await sql`TRUNCATE ktrlplane.usage_events, ktrlplane.usage_dirty_hours`.execute(database.db);
  const pool = new pg.Pool({ connectionString: database.url, max: CLIENTS });
  let rawSeconds: number;
  try {
    const statements = batches.map((batch) => {
      const values: unknown[] = [];
      // Sorted by id, as the route does: concurrent batches sharing ids would deadlock otherwise.
      const events = [...batch].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const rows = events.map((event, index) => {
        values.push(
          'bench-org',
          event.id,
          'bench-proj',
          event.resourceId,
          event.metric,
          event.time,
          event.value,
          event.attributes ? JSON.stringify(event.attributes) : null,
          `hash-${event.id}`,
        );
        const base = index * 9;
        return `($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7}, $${base + 8}, $${base + 9}, now())`;
      });
      return {
        text: `INSERT INTO ktrlplane.usage_events (org_id, event_id, project_id, resource_id, metric, occurred_at, value, attributes, payload_hash, received_at) VALUES ${rows.join(', ')} ON CONFLICT (org_id, event_id) DO NOTHING`,
        values,
      };
    });
    let cursor = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        for (;;) {
          const index = cursor++;
          if (index >= statements.length) return;
          await pool.query(statements[index] as pg.QueryConfig);
        }
      }),
    );
    rawSeconds = (performance.now() - started) / 1000;
  } finally {
    await pool.end();
  }

  // Rollup of 1,000,000 events: the table refilled, every touched hour queued, one run timed.
  await sql`TRUNCATE ktrlplane.usage_events, ktrlplane.usage_dirty_hours`.execute(database.db);
  const chunk = 20_000;
  for (let offset = 0; offset < ROLLUP_EVENTS; offset += chunk) {
    await sql`
      INSERT INTO ktrlplane.usage_events
        (org_id, event_id, project_id, resource_id, metric, occurred_at, value, attributes, payload_hash, received_at)
      SELECT 'bench-org', 'r-' || n, 'bench-proj', 'res-' || (n % ${RESOURCES}::int),
        (${METRICS}::text[])[1 + n % ${METRICS.length}::int],
        to_timestamp(${BASE / 1000}::float8 + ((n::bigint * 7919) % (48 * 3600000)) / 1000.0),
        1 + n % 97,
        CASE WHEN n % ${METRICS.length}::int = 4 THEN jsonb_build_object('user', 'u-' || (n % 50)) END,
        'h', now()
      FROM generate_series(${offset}::int, ${Math.min(offset + chunk, ROLLUP_EVENTS) - 1}::int) AS n
    `.execute(database.db);
  }
  await sql`
    INSERT INTO ktrlplane.usage_dirty_hours (org_id, project_id, resource_id, metric, hour)
    SELECT DISTINCT org_id, project_id, resource_id, metric, date_trunc('hour', occurred_at, 'UTC')
    FROM ktrlplane.usage_events
  `.execute(database.db);
  await sql`ANALYZE ktrlplane.usage_events`.execute(database.db);
  const rollupStarted = performance.now();
  const summary = await database.db
    .transaction()
    .execute((trx) => rollupUsage(trx, new Date(BASE + 49 * 3_600_000), { minuteRetentionHours: 48 }));
  const rollupSeconds = (performance.now() - rollupStarted) / 1000;
  const hourly = await sql<{ n: number; total: string }>`
    SELECT count(*)::int AS n, sum(quantity)::text AS total FROM ktrlplane.usage_hourly`.execute(database.db);

  const routeRate = total / routeSeconds;
  const rawRate = total / rawSeconds;
  console.log(
    `usage event ingestion (PostgreSQL, ${CLIENTS} clients, batches of ${BATCH}, ${DUPLICATE_SHARE * 100}% duplicates, ${BATCHES} batches)`,
  );
  console.log(
    `  route  POST /api/v1/usage/events: ${Math.round(routeRate)} events/s (${accepted} accepted, ${duplicates} duplicates, ${routeSeconds.toFixed(2)} s)`,
  );
  console.log(
    `  ceiling raw multi-row INSERT:     ${Math.round(rawRate)} events/s (${rawSeconds.toFixed(2)} s)`,
  );
  console.log(
    `  ratio route / ceiling: ${(routeRate / rawRate).toFixed(2)}; goal > 20,000 events/s: ${routeRate > 20_000 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `rollup of ${ROLLUP_EVENTS.toLocaleString('en')} events (${summary.dirtyHours} queued hours → ${hourly.rows[0]?.n} hourly rows): ${rollupSeconds.toFixed(2)} s (${Math.round(ROLLUP_EVENTS / rollupSeconds)} events/s)`,
  );
  console.log(
    `  load average: ${(await import('node:os'))
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`,
  );
} finally {
  await database.drop();
}
