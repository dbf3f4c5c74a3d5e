import { writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Kysely } from 'kysely';
import { createApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { openNodeDatabase } from './db/dialects/node.ts';
import { migrateToLatest } from './db/migrate.ts';
import { postgresListener } from './db/notifications.ts';
import type { Database } from './db/types.ts';
import { jobs } from './jobs/registry.ts';
import { markSchedulerStarted } from './jobs/run-job.ts';
import { startScheduler } from './jobs/scheduler.ts';
import { MANIFEST_PATH, parseAssetManifest } from './lib/assets.ts';
import { systemClock } from './lib/clock.ts';
import { InFlightRequests } from './lib/in-flight.ts';
import { KyselyTracingPlugin } from './lib/kysely-tracing-plugin.ts';
import { createLogger, type Logger } from './lib/logger.ts';
import { enableProcessMetrics, metricsExposed, setDatabasePoolStats } from './lib/metrics.ts';
import { startTracing } from './lib/tracing.ts';
import { readiness } from './routes/health.ts';
import { createMetricsApp } from './routes/metrics.ts';
import { LogTailHub } from './services/logs/tail.ts';
import { ResourceEventHub } from './services/resource-events.ts';
import { syncResourceTypes } from './services/resource-types.ts';
import { createStripeClient } from './services/stripe-client.ts';
import { ApiUsageRecorder } from './services/usage/api-calls.ts';

/** Built assets live here (npm run build); /static/* is served from it. */
const PUBLIC_DIR = 'dist/public';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Something that runs beside the server in the same process (the demo's operator simulator). */
export interface Companion {
  stop(): Promise<void>;
}

export interface ServerExtras {
  /** Runs once the database is migrated, before the server listens; stopped before the database closes. */
  companion?: (ctx: {
    db: Kysely<Database>;
    config: Config;
    logger: Logger;
    stripeConfigured: boolean;
  }) => Promise<Companion>;
}

export async function main(extras: ServerExtras = {}) {
  const startedAt = performance.now();
  const config = loadConfig(process.env);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    write: stdoutLines(),
  });
  // Tracing first, so everything after runs with the AsyncLocalStorage context manager. Spans are
  // exported only to OTEL_EXPORTER_OTLP_ENDPOINT; without it requests still get trace ids.
  // The SDK is registered only when spans go somewhere; otherwise requests get trace ids alone
  // (lib/tracing.ts requestTracing), which keeps the cost per request near zero.
  const tracing =
    config.OTEL_SDK_DISABLED || !config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? null
      : startTracing({
          serviceName: config.OTEL_SERVICE_NAME,
          endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
          sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
        });

  const database = await openNodeDatabase(config, (error) =>
    logger.warn('idle database connection lost', { err: error }),
  );
  const { applied, adoption } = await migrateToLatest(database.db);
  if (adoption)
    logger.info('adopted the Go service database', {
      goVersion: adoption.goVersion,
      counts: adoption.counts,
      personalOrganizations: adoption.personalOrganizations,
    });
  logger.info(applied.length > 0 ? 'migrations applied' : 'schema is current', {
    applied,
    database: database.kind,
  });
  logger.info('resource types synced', { ...(await syncResourceTypes(database.db, systemClock.now())) });
  // Requests and jobs query through the tracing plugin (a child span per statement) when spans
  // are exported; migrations above ran without it.
  const db = tracing?.exporting ? database.db.withPlugin(new KyselyTracingPlugin()) : database.db;
  const poolStats = database.poolStats;
  if (poolStats) {
    setDatabasePoolStats(() => {
      const stats = poolStats();
      return {
        database: database.kind,
        busy: stats.total - stats.idle,
        idle: stats.idle,
        waiting: stats.waiting,
      };
    });
  }
  if (metricsExposed(config)) enableProcessMetrics();

  // Live resource events for the SSE streams, started by the first stream: on a real Postgres one
  // LISTEN connection wakes it (with a slow safety-net poll); PGlite has no second session to
  // listen on, so one poll loop serves every stream of the process.
  const listen =
    database.kind === 'postgres' && config.DATABASE_URL ? postgresListener(config.DATABASE_URL) : undefined;
  const resourceEvents = new ResourceEventHub({
    db,
    logger,
    listen,
    pollIntervalMs: listen ? 10_000 : 500,
  });

  // Live log lines for the same streams: LISTEN 'ktrlplane_logs' on a real Postgres (one notice
  // per committed ingest batch), a fast poll by id on PGlite.
  const logTail = new LogTailHub({ db, logger, listen, pollIntervalMs: 250 });

  const assets = parseAssetManifest(JSON.parse(await readFile(`${PUBLIC_DIR}${MANIFEST_PATH}`, 'utf8')));
  // API calls are counted in memory and written in batches (src/services/usage/api-calls.ts).
  const apiUsage = new ApiUsageRecorder(() => void flushApiUsage());
  const flushApiUsage = () =>
    apiUsage.flush(db).catch((error: unknown) => logger.warn('could not write API usage', { err: error }));
  const apiUsageTimer = setInterval(flushApiUsage, config.USAGE_API_FLUSH_SECONDS * 1000);
  apiUsageTimer.unref();
  const app = createApp(
    {
      apiUsage,
      db,
      dbKind: database.kind,
      config,
      clock: systemClock,
      logger,
      assets,
      stripe: createStripeClient(config),
      runtime: 'node',
      remoteAddress: (c) => getConnInfo(c).remote.address,
      resourceEvents,
      logTail,
    },
    {
      staticFiles: serveStatic({
        root: PUBLIC_DIR,
        onFound: (path, c) => {
          c.header('Cache-Control', path.endsWith('manifest.json') ? 'no-cache' : IMMUTABLE);
        },
      }),
    },
  );

  const companion = extras.companion
    ? await extras.companion({ db, config, logger, stripeConfigured: config.STRIPE_SECRET_KEY !== undefined })
    : null;
  const scheduler = config.JOBS_ENABLED
    ? startScheduler({ db, clock: systemClock, logger, config }, jobs)
    : null;
  if (scheduler) markSchedulerStarted(systemClock.now());
  const metricsServer =
    config.METRICS_PORT === undefined
      ? null
      : serve(
          {
            fetch: createMetricsApp({ db, clock: systemClock, config, runtime: 'node' }).fetch,
            port: config.METRICS_PORT,
            hostname: config.HOST,
          },
          (info) => {
            logger.info('metrics listener is ready', { url: `http://localhost:${info.port}/metrics` });
            console.error(`ktrlplane metrics on http://localhost:${info.port}/metrics`);
          },
        );
  // Requests still being handled: a client that hangs up does not stop its handler, so shutdown
  // waits for this to reach zero (not only for sockets to close) before closing the database.
  const inFlight = new InFlightRequests();
  const server = serve(
    { fetch: inFlight.wrap(app.fetch), port: config.PORT, hostname: config.HOST },
    (info) => {
      const ms = Math.round(performance.now() - startedAt);
      logger.info('ktrlplane is ready', {
        url: `http://localhost:${info.port}`,
        ready_ms: ms,
        database: database.kind,
      });
      console.error(
        `ktrlplane listening on http://localhost:${info.port} (${database.kind}, ready in ${ms} ms)`,
      );
    },
  );

  // Graceful shutdown: stop accepting, let requests in flight finish, let job runs finish, close
  // the database. A second signal or the timeout forces the exit.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    readiness.draining = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    server.close(() => {
      void (async () => {
        await inFlight.drained();
        clearInterval(apiUsageTimer);
        await flushApiUsage();
        await scheduler?.stop();
        metricsServer?.close();
        await companion?.stop();
        await database.close();
        await tracing?.shutdown();
        logger.info('stopped');
        process.exit(0);
      })();
    });
    // Idle keep-alive sockets would hold close() open until they time out.
    const closeIdle = () => {
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    };
    closeIdle();
    // Event streams never finish by themselves: end them (clients reconnect with their cursor,
    // to another instance), then let go of the sockets they leave idle.
    void logTail.close();
    void resourceEvents.close().then(() => setTimeout(closeIdle, 100));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * Log lines to stdout, gathered and written once per turn of the event loop: one write system
 * call for all the lines of a busy moment instead of one per line, made after the responses of
 * that turn are on their way. Lines still pending when the process exits are written
 * synchronously on the way out.
 */
function stdoutLines(): (line: string) => void {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    process.stdout.write(chunk);
  };
  process.on('exit', () => {
    if (pending.length > 0) writeSync(1, pending.join(''));
  });
  return (line) => {
    pending.push(`${line}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

// Started as the entry point (npm start); scripts/demo.ts imports main() and adds a companion.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
    } else {
      console.error('ktrlplane failed to start:', error);
    }
    process.exit(1);
  });
