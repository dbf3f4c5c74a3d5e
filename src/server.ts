import { readFile } from 'node:fs/promises';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openNodeDatabase } from './db/dialects/node.ts';
import { migrateToLatest } from './db/migrate.ts';
import { jobs } from './jobs/registry.ts';
import { startScheduler } from './jobs/scheduler.ts';
import { MANIFEST_PATH, parseAssetManifest } from './lib/assets.ts';
import { systemClock } from './lib/clock.ts';
import { createLogger } from './lib/logger.ts';
import { syncResourceTypes } from './services/resource-types.ts';
import { createStripeClient } from './services/stripe-client.ts';

/** Built assets live here (npm run build); /static/* is served from it. */
const PUBLIC_DIR = 'dist/public';
const IMMUTABLE = 'public, max-age=31536000, immutable';

async function main() {
  const startedAt = performance.now();
  const config = loadConfig(process.env);
  const logger = createLogger({
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
    write: (line) => process.stdout.write(`${line}\n`),
  });

  const database = await openNodeDatabase(config, (error) =>
    logger.warn('idle database connection lost', { err: error }),
  );
  const { applied } = await migrateToLatest(database.db);
  logger.info(applied.length > 0 ? 'migrations applied' : 'schema is current', {
    applied,
    database: database.kind,
  });
  logger.info('resource types synced', { ...(await syncResourceTypes(database.db, systemClock.now())) });

  const assets = parseAssetManifest(JSON.parse(await readFile(`${PUBLIC_DIR}${MANIFEST_PATH}`, 'utf8')));
  const app = createApp(
    {
      db: database.db,
      dbKind: database.kind,
      config,
      clock: systemClock,
      logger,
      assets,
      stripe: createStripeClient(config),
      runtime: 'node',
      remoteAddress: (c) => getConnInfo(c).remote.address,
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

  const scheduler = config.JOBS_ENABLED
    ? startScheduler({ db: database.db, clock: systemClock, logger, config }, jobs)
    : null;
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
    const ms = Math.round(performance.now() - startedAt);
    logger.info('ktrlplane is ready', {
      url: `http://localhost:${info.port}`,
      ready_ms: ms,
      database: database.kind,
    });
    console.error(
      `ktrlplane listening on http://localhost:${info.port} (${database.kind}, ready in ${ms} ms)`,
    );
  });

  // Graceful shutdown: stop accepting, let requests in flight finish, let job runs finish, close
  // the database. A second signal or the timeout forces the exit.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info('shutting down', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    server.close(() => {
      void (async () => {
        await scheduler?.stop();
        await database.close();
        logger.info('stopped');
        process.exit(0);
      })();
    });
    // Idle keep-alive sockets would hold close() open until they time out.
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('ktrlplane failed to start:', error);
  }
  process.exit(1);
});
