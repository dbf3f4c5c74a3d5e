/**
 * Stripe webhook throughput, end to end: signed deliveries to POST /webhooks/stripe (32
 * connections, about 20% of them duplicate deliveries of an event already sent, re-signed as
 * Stripe does on a retry) are verified, stored in stripe_events and processed — each event
 * re-reads its customer's subscriptions and invoices from the local Stripe server (in this
 * process) and rewrites the account's mirror. PostgreSQL. The figure is unique events processed
 * per second, from the first delivery until the last event is processed.
 *
 * Baseline in the same run: the same stream of stripe_events rows, duplicates included, inserted
 * straight through plain `pg` (INSERT … ON CONFLICT (event_id) DO NOTHING, the statement the route
 * uses to store) with 32 concurrent workers over a pool as large as the server's; the median of
 * BENCH_RUNS passes. A third figure shows where the time goes: the same route with event types it
 * stores and acknowledges without a Stripe sync.
 */
import { createHmac } from 'node:crypto';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import Stripe from 'stripe';
import { plans, priceLookupKeys } from '../src/schemas/plans.ts';
import { stripeCatalogue } from '../src/services/billing/catalogue.ts';
import { startStripeLocal } from '../tests/stripe-local/index.ts';
import { scratchDatabase, startServer } from './lib/server.ts';

const CONNECTIONS = 32;
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 10);
/** The baseline is a short burst; its median over BENCH_RUNS passes steadies it. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PORT = 19_000 + Math.floor(Math.random() * 1000);
/** Organizations paying through Stripe; every event names one of their customers. */
const CUSTOMERS = 50;
const DUPLICATE_SHARE = 0.2;
/** The server's own pool size (openPostgres' default), so the baseline gets no more connections. */
const POOL_SIZE = 10;

const database = await scratchDatabase('ktrlplane_bench_webhooks');
/** Syncs the server ran (each lists the customer's subscriptions once), counted as Stripe sees them. */
let syncs = 0;
const stripeLocal = await startStripeLocal({
  ...stripeCatalogue(),
  onRequest: (entry) => {
    if (entry.method === 'GET' && entry.path === '/v1/subscriptions') syncs++;
  },
});
const stripe = new Stripe(stripeLocal.secretKey, stripeLocal.clientOptions);

interface Account {
  customer: string;
  /** The objects events carry (as Stripe sends them), serialised once. */
  objects: Array<{ type: string; json: string }>;
}

/**
 * Customers with a Standard subscription (base price and the metered prices) and its first
 * invoice, each the billing account of an organization: what a sync reads back and rewrites.
 */
async function seedAccounts(): Promise<Account[]> {
  const prices = priceLookupKeys(plans.standard).map((key) => `price_${key}`);
  const accounts: Account[] = [];
  for (let index = 0; index < CUSTOMERS; index++) {
    const orgId = `bench-org-${index}`;
    await database.db.insertInto('ktrlplane.organizations').values({ org_id: orgId, name: orgId }).execute();
    const customer = await stripe.customers.create({
      name: orgId,
      email: `billing-${index}@example.com`,
      metadata: { ktrlplane_scope_type: 'organization', ktrlplane_scope_id: orgId },
    });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: prices.map((price, i) => (i === 0 ? { price, quantity: 1 } : { price })),
      metadata: { plan: 'standard' },
    });
    const invoice = (await stripe.invoices.list({ customer: customer.id, limit: 1 })).data[0];
    if (!invoice) throw new Error(`no invoice for ${customer.id}`);
    await database.db
      .insertInto('ktrlplane.billing_accounts')
      .values({
        scope_type: 'organization',
        scope_id: orgId,
        stripe_customer_id: customer.id,
        stripe_subscription_id: subscription.id,
        plan: 'standard',
      })
      .execute();
    accounts.push({
      customer: customer.id,
      objects: [
        { type: 'customer.subscription.updated', json: JSON.stringify(subscription) },
        { type: 'invoice.paid', json: JSON.stringify(invoice) },
        { type: 'invoice.finalized', json: JSON.stringify(invoice) },
        { type: 'customer.updated', json: JSON.stringify(customer) },
      ],
    });
  }
  return accounts;
}

/** A stripe_events row as the route stores it. */
interface Delivery {
  eventId: string;
  type: string;
  customer: string;
  created: number;
}

/** Signed deliveries: fresh events, and about DUPLICATE_SHARE copies of events already sent. */
class DeliveryStream {
  readonly sent: Delivery[] = [];
  private readonly bodies = new Map<string, string>();
  private readonly unique: Delivery[] = [];
  private next = 0;

  /** `unknownType`: every event gets this type instead (stored and acknowledged, never synced). */
  constructor(
    private readonly prefix: string,
    private readonly accounts: Account[],
    private readonly secret: string,
    private readonly unknownType?: string,
  ) {}

  /** The next delivery: its body and Stripe-Signature header. */
  take(): { body: string; signature: string } {
    const now = Math.floor(Date.now() / 1000);
    let delivery: Delivery;
    if (this.unique.length > 0 && Math.random() < DUPLICATE_SHARE) {
      delivery = this.unique[Math.floor(Math.random() * this.unique.length)] as Delivery;
    } else {
      const index = this.next++;
      const account = this.accounts[index % this.accounts.length] as Account;
      const object = account.objects[Math.floor(index / this.accounts.length) % account.objects.length] as {
        type: string;
        json: string;
      };
      delivery = {
        eventId: `evt_${this.prefix}_${index}`,
        type: this.unknownType ?? object.type,
        customer: account.customer,
        created: now,
      };
      this.unique.push(delivery);
      this.bodies.set(
        delivery.eventId,
        `{"id":"${delivery.eventId}","object":"event","api_version":"${Stripe.API_VERSION}","created":${now},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"${delivery.type}","data":{"object":${object.json}}}`,
      );
    }
    this.sent.push(delivery);
    const body = this.bodies.get(delivery.eventId) as string;
    const mac = createHmac('sha256', this.secret).update(`${now}.${body}`, 'utf8').digest('hex');
    return { body, signature: `t=${now},v1=${mac}` };
  }

  get uniqueCount(): number {
    return this.unique.length;
  }
}

/** Waits until every stored event is processed; answers when that happened (performance.now()). */
async function drained(timeoutMs = 120_000): Promise<{ at: number; stored: number; failed: number }> {
  const started = performance.now();
  for (;;) {
    const row = await database.db
      .selectFrom('ktrlplane.stripe_events')
      .select((eb) => [
        eb.fn.countAll<string>().as('stored'),
        eb.fn.count<string>('processed_at').as('processed'),
        eb.fn.count<string>('last_error').as('failed'),
      ])
      .executeTakeFirstOrThrow();
    const at = performance.now();
    const [stored, processed, failed] = [Number(row.stored), Number(row.processed), Number(row.failed)];
    if (failed > 0) throw new Error(`${failed} events failed to process`);
    if (processed === stored) return { at, stored, failed };
    if (at - started > timeoutMs)
      throw new Error(`${stored - processed} of ${stored} events still unprocessed`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends deliveries for `duration` seconds (or `amount` of them) and waits until all are processed. */
async function deliver(url: string, stream: DeliveryStream, load: { duration?: number; amount?: number }) {
  const started = performance.now();
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    ...load,
    requests: [
      {
        setupRequest: (request) => {
          const { body, signature } = stream.take();
          return {
            ...request,
            body,
            headers: {
              ...request.headers,
              'content-type': 'application/json',
              'stripe-signature': signature,
            },
          };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  const sentAt = performance.now();
  const done = await drained();
  return {
    result,
    seconds: (done.at - started) / 1000,
    drainMs: done.at - sentAt,
    stored: done.stored,
  };
}

/** The baseline: the same rows through plain pg, 32 workers over a pool of POOL_SIZE. */
async function plainInserts(rows: Delivery[]): Promise<number> {
  const pool = new pg.Pool({ connectionString: database.url, max: POOL_SIZE });
  const statement =
    'INSERT INTO ktrlplane.stripe_events (event_id, type, customer_id, stripe_created, received_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (event_id) DO NOTHING RETURNING event_id';
  await pool.query('SELECT 1');
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let index = next++; index < rows.length; index = next++) {
      const row = rows[index] as Delivery;
      await pool.query(statement, [
        row.eventId,
        row.type,
        row.customer,
        new Date(row.created * 1000),
        new Date(),
      ]);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return seconds;
}

const accounts = await seedAccounts();
const server = await startServer(
  {
    DATABASE_URL: database.url,
    STRIPE_SECRET_KEY: stripeLocal.secretKey,
    STRIPE_API_BASE: stripeLocal.url,
    STRIPE_WEBHOOK_SECRET: stripeLocal.webhookSecret,
  },
  PORT,
);
try {
  const url = `${server.url}/webhooks/stripe`;
  // Warm-up (JIT, pools, the Stripe client's connections), then start from an empty table.
  await deliver(url, new DeliveryStream('warm', accounts, stripeLocal.webhookSecret), { amount: 500 });
  await sql`TRUNCATE ktrlplane.stripe_events`.execute(database.db);

  // The measured stream. Deliveries in flight when the duration ends are still answered and
  // stored (autocannon just stops counting them), so the stream's own record is what was sent.
  const stream = new DeliveryStream('bench', accounts, stripeLocal.webhookSecret);
  syncs = 0;
  const route = await deliver(url, stream, { duration: DURATION_S });
  if (route.stored !== stream.uniqueCount) {
    throw new Error(`stored ${route.stored} events, sent ${stream.uniqueCount} distinct ones`);
  }
  const sent = stream.sent.length;
  const duplicates = sent - route.stored;
  const routeRate = route.stored / route.seconds;
  const routeSyncs = syncs;
  await sql`TRUNCATE ktrlplane.stripe_events`.execute(database.db);

  // Where the time goes: the same route with event types it stores and acknowledges but never
  // syncs (verify, insert, lease, mark processed; no Stripe reads, no mirror rewrite).
  const unsynced = new DeliveryStream('unknown', accounts, stripeLocal.webhookSecret, 'charge.succeeded');
  const storeOnly = await deliver(url, unsynced, { duration: DURATION_S });
  const storeOnlyRate = storeOnly.stored / storeOnly.seconds;
  await sql`TRUNCATE ktrlplane.stripe_events`.execute(database.db);

  const passes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    passes.push(await plainInserts(stream.sent));
    await sql`TRUNCATE ktrlplane.stripe_events`.execute(database.db);
  }
  passes.sort((a, b) => a - b);
  const baselineSeconds = passes[Math.floor(passes.length / 2)] as number;
  const baselineRate = route.stored / baselineSeconds;

  console.log(
    `stripe webhooks, ${CONNECTIONS} connections, ${DURATION_S} s of deliveries, ${CUSTOMERS} customers, PostgreSQL`,
  );
  console.log(
    `  ${sent} deliveries: ${route.stored} distinct events, ${duplicates} duplicate deliveries (${((duplicates / sent) * 100).toFixed(0)}%)`,
  );
  console.log(
    `  baseline: plain pg INSERT … ON CONFLICT, same rows        ${Math.round(baselineRate)} events/s  (${Math.round(sent / baselineSeconds)} rows/s, median of ${RUNS})`,
  );
  console.log(
    `  POST /webhooks/stripe → stored → processed (Stripe sync)  ${Math.round(routeRate)} events/s  (${(routeRate / baselineRate).toFixed(3)}× the baseline)`,
  );
  console.log(
    `    answered p50 ${route.result.latency.p50} ms  p99 ${route.result.latency.p99} ms; last event processed ${Math.round(route.drainMs)} ms after the last answer; ${routeSyncs} syncs (${(routeSyncs / route.stored).toFixed(2)} per event, ${CUSTOMERS} customers)`,
  );
  console.log(
    `  the same route, event types it does not sync               ${Math.round(storeOnlyRate)} events/s  (${(storeOnlyRate / baselineRate).toFixed(3)}× the baseline)`,
  );
  console.log(
    `    answered p50 ${storeOnly.result.latency.p50} ms  p99 ${storeOnly.result.latency.p99} ms; last event processed ${Math.round(storeOnly.drainMs)} ms after the last answer`,
  );
} finally {
  await server.stop();
  await stripeLocal.stop();
  await database.drop();
}
