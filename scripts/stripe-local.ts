/**
 * `npm run stripe:local`: the local Stripe server of the tests, for development. It prints the
 * base URL, the secret key it accepts and the webhook signing secret, i.e. the three settings
 * ktrlplane needs (STRIPE_API_BASE, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET).
 *
 * Options (each also read from the environment):
 *   --port <n>             STRIPE_LOCAL_PORT, else the port of STRIPE_API_BASE, else 12111
 *   --host <addr>          STRIPE_LOCAL_HOST, default 127.0.0.1
 *   --webhook-url <url>    STRIPE_LOCAL_WEBHOOK_URL, default <BASE_URL or http://localhost:<PORT or 8080>>/webhooks/stripe
 *   --webhook-secret <s>   STRIPE_WEBHOOK_SECRET when it is a whsec_… value, else a fixed development secret
 *   --secret-key <k>       STRIPE_SECRET_KEY when it is an sk_test_… key, else a fixed development key
 *   --seed <file.json>     STRIPE_LOCAL_SEED ({ meters, products, prices }); default: the catalogue of
 *                          ktrlplane's plans (src/services/billing/catalogue.ts), so the prices match
 * The keys are fixed unless set, so a .env written once keeps working across restarts.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { stripeCatalogue } from '../src/services/billing/catalogue.ts';
import type { SeedMeter, SeedPrice, SeedProduct } from '../tests/stripe-local/index.ts';
import { DEFAULT_SECRET_KEY, startStripeLocal } from '../tests/stripe-local/index.ts';

const DEV_WEBHOOK_SECRET = 'whsec_stripelocal_development_only_0000000000';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'webhook-url': { type: 'string' },
    'webhook-secret': { type: 'string' },
    'secret-key': { type: 'string' },
    seed: { type: 'string' },
  },
});
const env = process.env;

function portFromApiBase(): number | undefined {
  if (!env.STRIPE_API_BASE) return undefined;
  try {
    const port = new URL(env.STRIPE_API_BASE).port;
    return port ? Number(port) : undefined;
  } catch {
    return undefined;
  }
}

const port = Number(values.port ?? env.STRIPE_LOCAL_PORT ?? portFromApiBase() ?? 12111);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${values.port}`);
const appBase = (env.BASE_URL || `http://localhost:${env.PORT ?? 8080}`).replace(/\/+$/, '');
const webhookUrl = values['webhook-url'] ?? env.STRIPE_LOCAL_WEBHOOK_URL ?? `${appBase}/webhooks/stripe`;
const webhookSecret =
  values['webhook-secret'] ??
  (env.STRIPE_WEBHOOK_SECRET?.startsWith('whsec_') ? env.STRIPE_WEBHOOK_SECRET : DEV_WEBHOOK_SECRET);
const secretKey =
  values['secret-key'] ??
  (env.STRIPE_SECRET_KEY?.startsWith('sk_test_') ? env.STRIPE_SECRET_KEY : DEFAULT_SECRET_KEY);
const seedFile = values.seed ?? env.STRIPE_LOCAL_SEED;

interface Seed {
  meters?: SeedMeter[];
  products?: SeedProduct[];
  prices?: SeedPrice[];
}
const seed: Seed = seedFile
  ? (JSON.parse(await readFile(seedFile, 'utf8')) as Seed)
  : (stripeCatalogue() as Seed);
for (const key of ['meters', 'products', 'prices'] as const) {
  if (seed[key] !== undefined && !Array.isArray(seed[key]))
    throw new Error(`${seedFile}: ${key} must be a list`);
}

const stripeLocal = await startStripeLocal({
  port,
  host: values.host ?? env.STRIPE_LOCAL_HOST ?? '127.0.0.1',
  secretKey,
  webhookSecret,
  webhookUrl,
  meters: seed.meters ?? [],
  products: seed.products ?? [],
  prices: seed.prices ?? [],
  onRequest: (entry) =>
    console.log(
      `${entry.method} ${entry.path} → ${entry.status}${entry.replayed ? ' (replayed)' : ''}${entry.fault ? ` (fault ${entry.fault})` : ''}`,
    ),
  onDelivery: (delivery) =>
    console.log(
      `webhook ${delivery.type} ${delivery.event} → ${delivery.status ?? delivery.error}${delivery.attempt > 1 ? ` (attempt ${delivery.attempt})` : ''}`,
    ),
});

console.log(`stripe-local listening on ${stripeLocal.url}
  STRIPE_API_BASE=${stripeLocal.url}
  STRIPE_SECRET_KEY=${stripeLocal.secretKey}
  STRIPE_WEBHOOK_SECRET=${stripeLocal.webhookSecret}
  webhooks → ${webhookUrl}
  catalogue: ${seedFile ?? 'the plans (src/schemas/plans.ts)'} (${seed.prices?.length ?? 0} prices, ${seed.meters?.length ?? 0} meters)
  control API: ${stripeLocal.url}/_control (clock, faults, webhooks, triggers)`);

const shutdown = () => {
  stripeLocal.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
