import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BillingOptions } from './billing.ts';
import { Billing } from './billing.ts';
import type { ControlContext } from './control.ts';
import { handleControl } from './control.ts';
import { StripeLocalControl } from './control-client.ts';
import { Faults } from './faults.ts';
import { IdempotencyKeys } from './idempotency.ts';
import { handleCheckoutPage } from './pages/checkout-page.ts';
import { esc, layout, sendHtml } from './pages/html.ts';
import { handleInvoicePage } from './pages/invoice-page.ts';
import { handlePortalPage } from './pages/portal-page.ts';
import type { SeedPrice, SeedProduct } from './resources/catalog.ts';
import { registerCatalogue, seedCatalogue } from './resources/catalog.ts';
import type { CheckoutExtras } from './resources/checkout.ts';
import { registerCheckout } from './resources/checkout.ts';
import { registerCustomers } from './resources/customers.ts';
import { registerEvents } from './resources/events.ts';
import { registerInvoices } from './resources/invoices.ts';
import type { SeedMeter } from './resources/meters.ts';
import { createMeter, registerMeters } from './resources/meters.ts';
import { registerPortal } from './resources/portal.ts';
import { registerSubscriptions } from './resources/subscriptions.ts';
import type { ApiContext, RequestLogEntry } from './router.ts';
import { ApiRouter, handleApiRequest, writeJson } from './router.ts';
import { newId, Store } from './store.ts';
import type { Delivery, WebhookFetch } from './webhooks.ts';
import { Webhooks } from './webhooks.ts';
import type { Json } from './wire.ts';
import { toJson } from './wire.ts';

/**
 * A local Stripe: an HTTP server speaking Stripe's v1 wire format for what ktrlplane uses
 * (products and prices, customers, Checkout Sessions with a page that pays them, billing portal
 * sessions, subscriptions, invoices and previews, billing meters and meter events), keeping
 * state in memory, honouring `Idempotency-Key`, injecting 429/500 answers on request, and
 * delivering webhooks signed with the endpoint secret. Point the official client at it:
 *
 *   const stripeLocal = await startStripeLocal({ prices: [...] });
 *   const stripe = new Stripe(stripeLocal.secretKey, stripeLocal.clientOptions);
 */

export type { DeliveryArrangement } from './control-client.ts';
export type { Fault, FaultSpec } from './faults.ts';
export type { SeedPrice, SeedProduct } from './resources/catalog.ts';
export type { SeedMeter } from './resources/meters.ts';
export type { RequestLogEntry } from './router.ts';
export type { MeterEventError, PaymentOutcome } from './store.ts';
export type { Delivery, DeliveryOrder, WebhookFetch } from './webhooks.ts';
export { signPayload } from './webhooks.ts';
export { StripeLocalControl };

export interface StripeLocalOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Base of the URLs the server hands out (checkout, portal, invoices); default http://<host>:<port>. */
  publicUrl?: string;
  /** The one secret key the API accepts; default a fixed `sk_test_…` key. */
  secretKey?: string;
  /** Where webhooks go; none when absent (settable later through the control API). */
  webhookUrl?: string;
  /** The endpoint's signing secret; default a random `whsec_…`. */
  webhookSecret?: string;
  /**
   * How deliveries are sent; default `fetch`. An in-process app can take them directly:
   * `webhookFetch: (url, init) => app.request(url, init)`.
   */
  webhookFetch?: WebhookFetch;
  /** Delays before retries of a failed delivery (its length is the number of retries); default [200, 1000, 3000]. */
  webhookRetryDelaysMs?: number[];
  /** Per-delivery timeout; default 10 s. */
  webhookTimeoutMs?: number;
  /** Catalogue seeded at start and after every reset (meters first, then products, then prices). */
  meters?: SeedMeter[];
  products?: SeedProduct[];
  prices?: SeedPrice[];
  /** When the last automatic retry of a failed payment fails: 'cancel' (Stripe's default), 'unpaid' or 'past_due'. */
  afterFinalPaymentFailure?: BillingOptions['afterFinalPaymentFailure'];
  /** Days after the first failed payment at which it is retried; default [3, 5, 7]. */
  paymentRetryDays?: number[];
  /** Called after every API request and every webhook delivery attempt (e.g. to print them). */
  onRequest?: (entry: RequestLogEntry) => void;
  onDelivery?: (delivery: Delivery) => void;
}

export interface StripeLocal {
  /** Base URL, e.g. http://127.0.0.1:12111 (what STRIPE_API_BASE is set to). */
  url: string;
  host: string;
  port: number;
  secretKey: string;
  webhookSecret: string;
  /** The options for `new Stripe(secretKey, clientOptions)`. */
  clientOptions: { host: string; port: number; protocol: 'http' };
  control: StripeLocalControl;
  stop(): Promise<void>;
}

/** The secret key the server accepts unless told otherwise (stable, so a .env can hold it). */
export const DEFAULT_SECRET_KEY = 'sk_test_stripelocal0000000000000000000000000000000000';

export async function startStripeLocal(options: StripeLocalOptions = {}): Promise<StripeLocal> {
  const host = options.host ?? '127.0.0.1';
  const secretKey = options.secretKey ?? DEFAULT_SECRET_KEY;
  if (!secretKey.startsWith('sk_test_'))
    throw new Error('stripe-local: the secret key must start with sk_test_');
  const webhookSecret = options.webhookSecret ?? newId('whsec', 32);
  if (!webhookSecret.startsWith('whsec_'))
    throw new Error('stripe-local: the webhook secret must start with whsec_');

  let baseUrl = options.publicUrl ?? '';
  const base = () => baseUrl;
  const store = new Store();
  const billing = new Billing(store, base, {
    afterFinalPaymentFailure: options.afterFinalPaymentFailure ?? 'cancel',
    retryDays: options.paymentRetryDays ?? [3, 5, 7],
  });
  const webhooks = new Webhooks({
    url: options.webhookUrl ?? null,
    secret: webhookSecret,
    fetch: options.webhookFetch ?? ((url, init) => fetch(url, init)),
    retryDelaysMs: options.webhookRetryDelaysMs ?? [200, 1000, 3000],
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
    ...(options.onDelivery ? { onDelivery: options.onDelivery } : {}),
  });
  store.onEvent((event) => webhooks.enqueue(event));
  const faults = new Faults();
  const idempotency = new IdempotencyKeys();
  const requestLog: RequestLogEntry[] = [];
  const extras = new Map<string, CheckoutExtras>();

  const router = new ApiRouter();
  registerCatalogue(router, store);
  registerCustomers(router, store, billing);
  registerCheckout(router, store, extras, base);
  registerPortal(router, store, base);
  registerSubscriptions(router, store, billing);
  registerInvoices(router, store, billing);
  registerMeters(router, store);
  registerEvents(router, store, webhooks);

  const seed = () =>
    store.withoutEvents(() => {
      for (const meter of options.meters ?? []) createMeter(store, meter);
      seedCatalogue(store, options.products ?? [], options.prices ?? []);
    });
  seed();

  const apiContext: ApiContext = {
    store,
    router,
    faults,
    idempotency,
    secretKey,
    requestLog,
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    includable: (object, field): Json | undefined => {
      if (object.object === 'checkout.session' && field === 'line_items' && typeof object.id === 'string') {
        const items = store.checkoutLineItems.get(object.id) ?? [];
        return toJson({
          object: 'list',
          data: items,
          has_more: false,
          url: `/v1/checkout/sessions/${object.id}/line_items`,
        });
      }
      if (object.object === 'customer' && field === 'subscriptions' && typeof object.id === 'string') {
        const data = [...store.subscriptions.values()]
          .filter((subscription) => subscription.customer === object.id && subscription.status !== 'canceled')
          .reverse();
        return toJson({
          object: 'list',
          data,
          has_more: false,
          url: `/v1/customers/${object.id}/subscriptions`,
        });
      }
      return undefined;
    },
  };
  const controlContext: ControlContext = {
    store,
    billing,
    faults,
    webhooks,
    extras,
    requestLog,
    baseUrl: base,
    secretKey,
    reset: async () => {
      await webhooks.clear();
      store.clear();
      extras.clear();
      faults.clear();
      idempotency.clear();
      requestLog.length = 0;
      seed();
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stripe-local');
    const path = url.pathname;
    if (path.startsWith('/v1/')) return handleApiRequest(apiContext, req, res, url);
    if (path === '/_control' || path.startsWith('/_control/'))
      return handleControl(controlContext, req, res, url);
    const checkout = /^\/c\/pay\/([^/]+)$/.exec(path);
    if (checkout)
      return handleCheckoutPage(
        { store, billing, extras, baseUrl: base },
        req,
        res,
        decodeURIComponent(checkout[1] ?? ''),
      );
    const portal = /^\/p\/session\/([^/]+)$/.exec(path);
    if (portal)
      return handlePortalPage({ store, billing }, req, res, decodeURIComponent(portal[1] ?? ''), url);
    const invoice = /^\/i\/([^/]+?)(\/pdf)?$/.exec(path);
    if (invoice)
      return handleInvoicePage(
        { store, billing },
        req,
        res,
        decodeURIComponent(invoice[1] ?? ''),
        Boolean(invoice[2]),
      );
    if (path === '/') return sendHtml(res, 200, homePage(store, base(), webhooks.url));
    writeJson(res, 404, {
      error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${path}).` },
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('stripe-local: request failed', error);
      if (!res.headersSent)
        writeJson(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${port}`;
  if (!options.publicUrl) baseUrl = url;

  return {
    url,
    host: urlHost,
    port,
    secretKey,
    webhookSecret,
    clientOptions: { host: urlHost, port, protocol: 'http' },
    control: new StripeLocalControl(url),
    async stop() {
      await webhooks.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function homePage(store: Store, url: string, webhookUrl: string | null): string {
  const prices = [...store.prices.values()]
    .map(
      (price) =>
        `<tr><td><code>${esc(price.id)}</code></td><td>${esc(price.lookup_key ?? '')}</td><td>${esc(price.nickname ?? '')}</td><td>${esc(price.recurring?.usage_type ?? 'one_time')}</td></tr>`,
    )
    .join('');
  const events = store.events
    .slice(-20)
    .reverse()
    .map(
      (event) =>
        `<tr><td><code>${esc(event.id)}</code></td><td>${esc(event.type)}</td><td>${esc(new Date(event.created * 1000).toISOString())}</td></tr>`,
    )
    .join('');
  return layout(
    'stripe-local',
    `<h1>stripe-local</h1>
<p>API base <code>${esc(url)}</code> · webhooks to <code>${esc(webhookUrl ?? '(none)')}</code></p>
<h2>Prices</h2>
<table><thead><tr><th>Id</th><th>Lookup key</th><th>Nickname</th><th>Usage</th></tr></thead><tbody>${prices}</tbody></table>
<h2>Latest events</h2>
<table><thead><tr><th>Id</th><th>Type</th><th>Created</th></tr></thead><tbody>${events}</tbody></table>`,
  );
}
