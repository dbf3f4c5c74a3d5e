import { type Kysely, sql } from 'kysely';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Database } from '../db/types.ts';
import { tracer } from './tracing.ts';

/**
 * ktrlplane's Prometheus metrics (prom-client), one registry per process. Counters are
 * process-wide like the process they describe; GET /metrics (routes/metrics.ts) renders them.
 *
 * Labels are bounded by construction: routes are matched templates (never raw paths), methods a
 * fixed set, outcomes a handful of words, types and jobs names from the code.
 */
export const metricsRegistry = new Registry();

/** Whether this process exposes metrics at all: a bearer token or a port of their own is set. */
export function metricsExposed(config: Pick<Config, 'METRICS_TOKEN' | 'METRICS_PORT'>): boolean {
  return Boolean(config.METRICS_TOKEN) || config.METRICS_PORT !== undefined;
}

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from a request reaching the app to its response being ready, by method, route template and status.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'Requests answered, by method, route template and status.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [metricsRegistry],
});

export const resourceDeploymentsTotal = new Counter({
  name: 'resource_deployments_total',
  help: 'Resource changes handed to the operator (create, update, delete), by resource type and the status written.',
  labelNames: ['type', 'status'] as const,
  registers: [metricsRegistry],
});

export const resourcesGauge = new Gauge({
  name: 'resources',
  help: 'Resources in the database, by type and status (read at scrape time, cached briefly).',
  labelNames: ['type', 'status'] as const,
  registers: [metricsRegistry],
});

export const jobRunsTotal = new Counter({
  name: 'job_runs_total',
  help: 'Job runs, by job and outcome (succeeded, failed, skipped).',
  labelNames: ['job', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const jobDuration = new Histogram({
  name: 'job_duration_seconds',
  help: 'Wall-clock duration of job runs, by job.',
  labelNames: ['job'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  registers: [metricsRegistry],
});

export const stripeRequestsTotal = new Counter({
  name: 'stripe_requests_total',
  help: 'Calls to the Stripe API (each retry counts), by operation and outcome.',
  labelNames: ['operation', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const stripeWebhookEventsTotal = new Counter({
  name: 'stripe_webhook_events_total',
  help: 'Stripe webhook events received, by event type and outcome.',
  labelNames: ['type', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const usageEventsIngestedTotal = new Counter({
  name: 'usage_events_ingested_total',
  help: 'Usage events accepted for billing.',
  registers: [metricsRegistry],
});

export const sseConnections = new Gauge({
  name: 'sse_connections',
  help: 'Server-sent-event streams open now.',
  registers: [metricsRegistry],
});

export interface PoolStats {
  /** 'postgres' (pg's pool), 'pglite' (one embedded connection), 'neon'. */
  database: string;
  /** Connections open and lent out. */
  busy: number;
  /** Connections open and idle. */
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

let poolStats: (() => PoolStats) | undefined;

/** Where the pool gauges read from at scrape time (server.ts); unset, they are absent. */
export function setDatabasePoolStats(read: (() => PoolStats) | undefined): void {
  poolStats = read;
}

new Gauge({
  name: 'db_pool_connections',
  help: 'Database connections open in the pool, by state (busy, idle); PGlite is one connection.',
  labelNames: ['database', 'state'] as const,
  registers: [metricsRegistry],
  collect() {
    const stats = poolStats?.();
    if (!stats) return;
    this.set({ database: stats.database, state: 'busy' }, stats.busy);
    this.set({ database: stats.database, state: 'idle' }, stats.idle);
  },
});
new Gauge({
  name: 'db_pool_waiting_clients',
  help: 'Queries waiting for a database connection.',
  labelNames: ['database'] as const,
  registers: [metricsRegistry],
  collect() {
    const stats = poolStats?.();
    if (stats) this.set({ database: stats.database }, stats.waiting);
  },
});

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
type HttpSeries = { duration: Histogram.Internal<'method' | 'route' | 'status'>; count: Counter.Internal };
const httpSeries = new Map<string, HttpSeries>();

/**
 * Records one answered request. The labelled children are cached by their key, so the hot path
 * does one string concatenation and one map lookup rather than prom-client's label hashing.
 */
export function recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
  const key = `${method} ${status} ${route}`;
  let series = httpSeries.get(key);
  if (!series) {
    const labels = { method: KNOWN_METHODS.has(method) ? method : 'OTHER', route, status: String(status) };
    series = { duration: httpRequestDuration.labels(labels), count: httpRequestsTotal.labels(labels) };
    if (httpSeries.size < 5_000) httpSeries.set(key, series);
  }
  series.duration.observe(seconds);
  series.count.inc();
}

/** One finished job run (run-job.ts). */
export function recordJobRun(job: string, outcome: string, seconds: number): void {
  jobRunsTotal.inc({ job, outcome });
  jobDuration.observe({ job }, seconds);
}

/**
 * An SSE stream opened: counted in sse_connections and traced as a span (a child of the request's)
 * that lasts as long as the stream. Call the returned function once, when the stream closes.
 */
export function sseConnectionOpened(route: string): () => void {
  sseConnections.inc();
  const span = tracer().startSpan(`SSE ${route}`, { attributes: { 'http.route': route } });
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    sseConnections.dec();
    span.end();
  };
}

/** A resource change handed to the operator (the resources routes call this after they commit). */
export function recordResourceDeployment(type: string, status: string): void {
  resourceDeploymentsTotal.inc({ type, status });
}

const RESOURCE_GAUGE_TTL_MS = 10_000;
const resourceCounts = new WeakMap<object, { at: number; refresh: Promise<void> }>();

/**
 * Refreshes the `resources` gauge from the database at most every 10 s (Prometheus may scrape
 * often, and several Prometheus servers may scrape the same instance). A failing read keeps the
 * last values: a scrape must not fail because the database is slow.
 */
export async function refreshDatabaseGauges(db: Kysely<Database>, nowMs: number): Promise<void> {
  const cached = resourceCounts.get(db);
  if (cached && nowMs - cached.at < RESOURCE_GAUGE_TTL_MS) return cached.refresh;
  const refresh = (async () => {
    try {
      const rows = await db
        .selectFrom('ktrlplane.resources')
        .select(['type', 'status', sql<number>`count(*)::int`.as('count')])
        .groupBy(['type', 'status'])
        .execute();
      resourcesGauge.reset();
      for (const row of rows) resourcesGauge.set({ type: row.type, status: row.status }, Number(row.count));
    } catch {
      // keep the last values; /ready reports an unreachable database
    }
  })();
  resourceCounts.set(db, { at: nowMs, refresh });
  return refresh;
}

let processMetricsOn = false;

/** Adds prom-client's process metrics (CPU, memory, event loop lag, GC, handles). Node only. */
export function enableProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
  // Gauges that prom-client names *_total, which `promtool check metrics` rejects (the _total
  // suffix is for counters); nodejs_active_handles etc. say the same without the suffix.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    metricsRegistry.removeSingleMetric(name);
  }
}

/** The exposition text of every metric, after the database-backed gauges are refreshed. */
export async function renderMetrics(db: Kysely<Database>, nowMs: number): Promise<string> {
  enableProcessMetrics();
  await refreshDatabaseGauges(db, nowMs);
  return metricsRegistry.metrics();
}

export const METRICS_CONTENT_TYPE = metricsRegistry.contentType;
