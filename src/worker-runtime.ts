import { createApp } from './app.ts';
import { type Config, loadConfig } from './config.ts';
import { openNeon } from './db/dialects/neon.ts';
import { jobsForCron } from './jobs/registry.ts';
import { runJob } from './jobs/run-job.ts';
import { type AssetManifest, MANIFEST_PATH, parseAssetManifest } from './lib/assets.ts';
import { systemClock } from './lib/clock.ts';
import { consoleRecordWriter, createLogger, type Logger } from './lib/logger.ts';
import { type StreamSlots, streamSlotsFor } from './lib/stream-slots.ts';
import { createStripeClient } from './services/stripe-client.ts';
import { ApiUsageRecorder } from './services/usage/api-calls.ts';

/** The bindings wrangler.toml declares (DATABASE_URL is a secret) plus the static asset binding. */
export interface WorkerEnv extends Record<string, unknown> {
  DATABASE_URL: string;
  ASSETS?: { fetch(input: string): Promise<Response> };
}

export interface WorkerExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface WorkerScheduledController {
  cron: string;
  scheduledTime: number;
}

interface IsolateState {
  config: Config;
  logger: Logger;
  assets: Promise<AssetManifest>;
  /** Open event streams of this isolate (deps are per request, the cap is not). */
  streamSlots: StreamSlots;
}

// Parsed once per isolate. Database pools are not kept: Workers forbid sharing I/O objects across
// requests, so each request and each scheduled run opens its own and closes it in waitUntil.
let isolate: IsolateState | undefined;

function isolateState(env: WorkerEnv): IsolateState {
  if (!isolate) {
    const config = loadConfig(env);
    if (!config.DATABASE_URL)
      throw new Error('DATABASE_URL is not set; run `wrangler secret put DATABASE_URL`');
    const assets = env.ASSETS
      ? env.ASSETS.fetch(`https://assets.invalid${MANIFEST_PATH}`).then(async (res) =>
          parseAssetManifest(await res.json()),
        )
      : Promise.reject(new Error('The ASSETS binding is missing; see wrangler.toml [assets]'));
    assets.catch(() => {});
    // The same records as on Node, handed to console[level] as objects: Workers Logs indexes their
    // fields. No /metrics here (per-isolate counters; see README "Observability").
    const logger = createLogger({
      level: config.LOG_LEVEL,
      format: 'json',
      writeRecord: consoleRecordWriter,
    });
    isolate = { config, logger, assets, streamSlots: streamSlotsFor(config) };
  }
  return isolate;
}

function openDatabase(config: Config) {
  return openNeon({ url: config.DATABASE_URL ?? '', wsProxy: config.NEON_WS_PROXY });
}

export async function handleFetch(
  request: Request,
  env: WorkerEnv,
  ctx: WorkerExecutionContext,
): Promise<Response> {
  const { config, logger, assets, streamSlots } = isolateState(env);
  const database = openDatabase(config);
  // A database connection cannot outlive its request here, and an isolate may go at any time: the
  // request's API call is written after the response, before the connection closes.
  const apiUsage = new ApiUsageRecorder();
  const closeDatabase = () =>
    apiUsage
      .flush(database.db)
      .catch((error: unknown) => logger.warn('could not write API usage', { err: error }))
      .finally(() => database.close());
  let response: Response;
  try {
    const app = createApp({
      apiUsage,
      db: database.db,
      dbKind: database.kind,
      config,
      clock: systemClock,
      logger,
      assets: await assets,
      stripe: createStripeClient(config),
      runtime: 'workers',
      streamSlots,
      // Cloudflare sets CF-Connecting-IP itself; a client cannot forge it past the edge.
      remoteAddress: (c) => c.req.header('CF-Connecting-IP'),
    });
    response = await app.fetch(request, env, ctx as never);
  } catch (error) {
    ctx.waitUntil(closeDatabase());
    throw error;
  }
  // An event stream (routes/resource-events.tsx) reads the database until it ends: close it then.
  if (response.body && response.headers.get('Content-Type')?.startsWith('text/event-stream')) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    ctx.waitUntil(
      response.body
        .pipeTo(writable)
        .catch(() => {})
        .finally(closeDatabase),
    );
    return new Response(readable, response);
  }
  ctx.waitUntil(closeDatabase());
  return response;
}

export async function handleScheduled(
  controller: WorkerScheduledController,
  env: WorkerEnv,
  ctx: WorkerExecutionContext,
): Promise<void> {
  const { config, logger } = isolateState(env);
  const database = openDatabase(config);
  const run = (async () => {
    try {
      const deps = { db: database.db, clock: systemClock, logger, config };
      const trigger = `cron:${controller.cron}`;
      const due = jobsForCron(controller.cron);
      for (const job of due) await runJob(deps, job, trigger);
      // Cron Triggers fire once a minute at most: sub-minute jobs run again within the minute.
      const frequent = due.filter((job) => job.intervalSeconds);
      for (let second = 0; frequent.length > 0; ) {
        const next = Math.min(...frequent.map((job) => second + (job.intervalSeconds ?? 60)));
        if (next >= 60) break;
        await new Promise((resolve) => setTimeout(resolve, (next - second) * 1000));
        second = next;
        for (const job of frequent) {
          if (second % (job.intervalSeconds ?? 60) === 0) await runJob(deps, job, `${trigger}+${second}s`);
        }
      }
    } finally {
      await database.close();
    }
  })();
  ctx.waitUntil(run);
  await run;
}
