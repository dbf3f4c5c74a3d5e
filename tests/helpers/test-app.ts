import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/dialects/node.ts';
import { postgresListener } from '../../src/db/notifications.ts';
import type { AppDeps } from '../../src/lib/app-env.ts';
import type { AssetManifest } from '../../src/lib/assets.ts';
import { manualClock } from '../../src/lib/clock.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { LogTailHub } from '../../src/services/logs/tail.ts';
import { type EventStreamOptions, ResourceEventHub } from '../../src/services/resource-events.ts';
import { createStripeClient } from '../../src/services/stripe-client.ts';
import { openTestDatabase, truncateData } from './test-database.ts';

export const testAssets: AssetManifest = {
  'app.css': '/static/app.test.css',
  'htmx.js': '/static/htmx.test.js',
  'app.js': '/static/app.test.js',
  'alpine.js': '/static/alpine.test.js',
  'htmx-sse.js': '/static/htmx-sse.test.js',
  'log-tail.js': '/static/log-tail.test.js',
  'favicon.svg': '/static/favicon.test.svg',
};

export interface TestContext {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  database: DatabaseHandle & { url?: string };
  /** The app's resource event hub: LISTEN on a real server (10 s safety-net poll), a fast poll on PGlite. */
  events: ResourceEventHub;
  /** The app's log tail hub: LISTEN on a real server, a fast poll on PGlite. */
  logTail: LogTailHub;
  clock: ReturnType<typeof manualClock>;
  /** Every log line the app wrote during the current test, parsed. */
  logs: Array<Record<string, unknown>>;
}

/**
 * Registers hooks that give each test file its own migrated database and each test empty tables
 * (the seeded roles stay), and returns the context the hooks fill in.
 */
export function useTestApp(
  env: Record<string, string> = {},
  options: { eventStreams?: Partial<EventStreamOptions> } = {},
): TestContext {
  const context = { logs: [] } as unknown as TestContext;
  beforeAll(async () => {
    context.database = await openTestDatabase();
    context.clock = manualClock(new Date('2026-11-27T12:00:00Z'));
    // Low PBKDF2 cost keeps sign-ups fast; the cost itself is tested in passwords.test.ts.
    // Billing is off in tests unless a test configures Stripe; the plan everyone is then on is
    // standard, so tests can use every SKU. Tests of the free plan's limits set it to free.
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'debug',
      PASSWORD_ITERATIONS: '1000',
      PLAN_WITHOUT_BILLING: 'standard',
      // Webhook receivers and Alertmanager run on this machine in tests.
      OUTBOUND_PRIVATE_TARGETS: 'allow',
      ...env,
    });
    const logger = createLogger({
      level: 'debug',
      format: 'json',
      write: (line) => context.logs.push(JSON.parse(line)),
    });
    const url = context.database.url;
    context.events = new ResourceEventHub({
      db: context.database.db,
      logger,
      listen: url ? postgresListener(url) : undefined,
      pollIntervalMs: url ? 10_000 : 25,
      stream: options.eventStreams,
    });
    context.logTail = new LogTailHub({
      db: context.database.db,
      logger,
      listen: url ? postgresListener(url) : undefined,
      pollIntervalMs: 25,
    });
    context.deps = {
      db: context.database.db,
      dbKind: context.database.kind,
      config,
      clock: context.clock,
      logger,
      assets: testAssets,
      // A Stripe client only when a test configures STRIPE_SECRET_KEY (the local Stripe server).
      stripe: createStripeClient(config),
      runtime: 'node',
      resourceEvents: context.events,
      logTail: context.logTail,
    };
    context.app = createApp(context.deps);
  });
  beforeEach(async () => {
    context.logs.length = 0;
    await truncateData(context.database.db);
  });
  afterAll(async () => {
    await context.events?.close();
    await context.logTail?.close();
    await context.database?.close();
  });
  return context;
}
