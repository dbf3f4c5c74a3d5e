import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StripeLocal } from './index.ts';
import { startStripeLocal } from './index.ts';
import { decodeForm } from './wire.ts';

/**
 * The local Stripe server driven by the official `stripe` client (v23, pointed at it through
 * host/port/protocol), with a real webhook receiver that verifies every delivery with
 * `stripe.webhooks.constructEventAsync`.
 */

const HOUR = 3600;
const DAY = 86_400;

let local: StripeLocal;
let stripe: Stripe;
let receiver: Server;
let receiverUrl: string;
/** Events the receiver accepted (signature verified), in arrival order. */
const received: Stripe.Event[] = [];
/** Deliveries the receiver answers 500 before it starts accepting again. */
let failNextDeliveries = 0;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (failNextDeliveries > 0) {
        failNextDeliveries -= 1;
        res.writeHead(500).end();
        return;
      }
      stripe.webhooks
        .constructEventAsync(body, String(req.headers['stripe-signature']), local.webhookSecret)
        .then((event) => {
          received.push(event);
          res.writeHead(200).end('{"received":true}');
        })
        .catch(() => res.writeHead(400).end());
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;

  local = await startStripeLocal({
    webhookUrl: receiverUrl,
    webhookRetryDelaysMs: [50, 100, 200],
    meters: [
      { id: 'mtr_test_api_calls', event_name: 'api_calls', display_name: 'API calls' },
      { id: 'mtr_test_gb_hours', event_name: 'gb_hours', event_time_window: 'hour' },
    ],
    products: [{ id: 'prod_standard', name: 'Standard' }],
    prices: [
      {
        id: 'price_standard',
        lookup_key: 'standard_monthly',
        product: 'prod_standard',
        unit_amount: 3000,
        recurring: { interval: 'month' },
      },
      {
        id: 'price_pro',
        lookup_key: 'pro_monthly',
        product: { id: 'prod_pro', name: 'Pro' },
        unit_amount: 9000,
        recurring: { interval: 'month' },
      },
      {
        id: 'price_api_calls',
        product: { name: 'API calls' },
        unit_amount: 50,
        transform_quantity: { divide_by: 1000, round: 'up' },
        recurring: { interval: 'month', usage_type: 'metered', meter: 'api_calls' },
      },
    ],
  });
  stripe = new Stripe(local.secretKey, { ...local.clientOptions, maxNetworkRetries: 2 });
});

afterAll(async () => {
  await local?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

beforeEach(async () => {
  await local.control.reset();
  received.length = 0;
  failNextDeliveries = 0;
});

/** Waits for deliveries to settle, then answers the verified events of `type`. */
async function receivedOf(type: string): Promise<Stripe.Event[]> {
  await local.control.webhooksIdle();
  return received.filter((event) => event.type === type);
}

/** Subscribes a new customer through Checkout and its hosted page (a plain form POST). */
async function subscribe(
  prices: Stripe.Checkout.SessionCreateParams.LineItem[] = [{ price: 'price_standard', quantity: 1 }],
) {
  const customer = await stripe.customers.create({ email: 'owner@example.test', metadata: { org: 'acme' } });
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: prices,
    success_url: 'http://app.test/billing/success?session={CHECKOUT_SESSION_ID}',
    cancel_url: 'http://app.test/billing',
    subscription_data: { metadata: { org: 'acme' } },
  });
  const paid = await fetch(String(session.url), {
    method: 'POST',
    body: new URLSearchParams({ card: 'succeed' }),
    redirect: 'manual',
  });
  expect(paid.status).toBe(303);
  const completed = await stripe.checkout.sessions.retrieve(session.id);
  const subscription = await stripe.subscriptions.retrieve(String(completed.subscription));
  return { customer, session: completed, subscription };
}

describe('wire format', () => {
  it('decodes bracketed form parameters the way Stripe does', () => {
    expect(
      decodeForm(
        'metadata[plan]=standard&metadata[0]=zero&line_items[0][price]=p1&line_items[1][price]=p2&line_items[1][quantity]=2&expand[]=customer&expand[]=subscription&name=A+B%26C',
      ),
    ).toEqual({
      metadata: { plan: 'standard', 0: 'zero' },
      line_items: [{ price: 'p1' }, { price: 'p2', quantity: '2' }],
      expand: ['customer', 'subscription'],
      name: 'A B&C',
    });
  });

  it('answers 401 in Stripe’s error shape without a key or with another key', async () => {
    const response = await fetch(`${local.url}/v1/customers`);
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/You did not provide an API key/);

    const other = new Stripe('sk_test_someone_else_entirely_000000', {
      ...local.clientOptions,
      maxNetworkRetries: 0,
    });
    await expect(other.customers.list()).rejects.toMatchObject({
      type: 'StripeAuthenticationError',
      statusCode: 401,
    });
  });

  it('rejects unknown parameters and URLs like Stripe, and accepts curl-style expand[] and Basic auth', async () => {
    await expect(
      stripe.customers.create({
        email: 'a@example.test',
        favourite_colour: 'blue',
      } as Stripe.CustomerCreateParams),
    ).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      code: 'parameter_unknown',
      param: 'favourite_colour',
    });

    const missing = await fetch(`${local.url}/v1/nothing-here`, {
      headers: { Authorization: `Bearer ${local.secretKey}` },
    });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(
      /Unrecognized request URL/,
    );

    const { session } = await subscribe();
    const raw = await fetch(
      `${local.url}/v1/checkout/sessions/${session.id}?expand[]=subscription&expand[]=customer`,
      {
        headers: { Authorization: `Basic ${Buffer.from(`${local.secretKey}:`).toString('base64')}` },
      },
    );
    const expanded = (await raw.json()) as { subscription: { object: string }; customer: { object: string } };
    expect(expanded.subscription.object).toBe('subscription');
    expect(expanded.customer.object).toBe('customer');
  });

  it('lists pages with limit, starting_after and has_more', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await stripe.customers.create({ email: `c${i}@example.test` })).id);
    const first = await stripe.customers.list({ limit: 2 });
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/customers');
    expect(first.data.map((c) => c.id)).toEqual([ids[4], ids[3]]);
    expect(first.has_more).toBe(true);
    const last = await stripe.customers.list({ limit: 2, starting_after: ids[1] });
    expect(last.data.map((c) => c.id)).toEqual([ids[0]]);
    expect(last.has_more).toBe(false);
    const all = await stripe.customers.list({ limit: 2 }).autoPagingToArray({ limit: 10 });
    expect(all).toHaveLength(5);
  });
});

describe('products and prices', () => {
  it('serves the seeded catalogue and creates, finds by lookup key and updates prices', async () => {
    const seeded = await stripe.prices.list({
      lookup_keys: ['standard_monthly', 'pro_monthly'],
      expand: ['data.product'],
    });
    expect(seeded.data.map((price) => price.id).sort()).toEqual(['price_pro', 'price_standard']);
    const pro = seeded.data.find((price) => price.id === 'price_pro');
    expect((pro?.product as Stripe.Product | undefined)?.name).toBe('Pro');

    const product = await stripe.products.create({ name: 'Enterprise', metadata: { tier: '3' } });
    expect(await stripe.products.retrieve(product.id)).toMatchObject({
      object: 'product',
      name: 'Enterprise',
    });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 25_000,
      recurring: { interval: 'month' },
      lookup_key: 'enterprise_monthly',
    });
    expect(price).toMatchObject({
      object: 'price',
      type: 'recurring',
      unit_amount: 25_000,
      lookup_key: 'enterprise_monthly',
    });
    expect(String(price.unit_amount_decimal)).toBe('25000');
    expect((await stripe.prices.retrieve(price.id)).id).toBe(price.id);

    await expect(
      stripe.prices.create({
        product: product.id,
        currency: 'usd',
        unit_amount: 1,
        lookup_key: 'enterprise_monthly',
      }),
    ).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'lookup_key' });
    const moved = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 20_000,
      recurring: { interval: 'month' },
      lookup_key: 'enterprise_monthly',
      transfer_lookup_key: true,
    });
    expect((await stripe.prices.retrieve(price.id)).lookup_key).toBeNull();
    expect((await stripe.prices.list({ lookup_keys: ['enterprise_monthly'] })).data.map((p) => p.id)).toEqual(
      [moved.id],
    );

    const renamed = await stripe.products.update(product.id, { name: 'Enterprise+', metadata: { tier: '' } });
    expect(renamed).toMatchObject({ name: 'Enterprise+', metadata: {} });
    expect((await stripe.products.list({ ids: [product.id, 'prod_pro'] })).data.map((p) => p.id)).toEqual([
      product.id,
      'prod_pro',
    ]);
    const updated = await stripe.prices.update(price.id, { active: false, metadata: { legacy: 'yes' } });
    expect(updated).toMatchObject({ active: false, metadata: { legacy: 'yes' } });
    expect((await stripe.prices.list({ product: product.id, active: true })).data.map((p) => p.id)).toEqual([
      moved.id,
    ]);
  });

  it('requires a meter for metered prices', async () => {
    await expect(
      stripe.prices.create({
        product: 'prod_standard',
        currency: 'usd',
        unit_amount: 1,
        recurring: { interval: 'month', usage_type: 'metered' },
      }),
    ).rejects.toMatchObject({ param: 'recurring[meter]' });
  });
});

describe('customers and idempotency', () => {
  it('creates once per Idempotency-Key, replays the answer, and rejects the key with other parameters', async () => {
    const first = await stripe.customers.create(
      { email: 'billing@acme.test' },
      { idempotencyKey: 'account-acme' },
    );
    const again = await stripe.customers.create(
      { email: 'billing@acme.test' },
      { idempotencyKey: 'account-acme' },
    );
    expect(again.id).toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.customers.list({ email: 'billing@acme.test' })).data).toHaveLength(1);

    await expect(
      stripe.customers.create({ email: 'other@acme.test' }, { idempotencyKey: 'account-acme' }),
    ).rejects.toMatchObject({ type: 'StripeIdempotencyError', statusCode: 400 });
    await expect(
      stripe.products.create({ name: 'x' }, { idempotencyKey: 'account-acme' }),
    ).rejects.toMatchObject({
      type: 'StripeIdempotencyError',
    });
    // A request that failed validation is not kept: the key still works for a valid request.
    await expect(
      stripe.customers.create({ email: 'x@acme.test', bogus: 1 } as Stripe.CustomerCreateParams, {
        idempotencyKey: 'k2',
      }),
    ).rejects.toMatchObject({ code: 'parameter_unknown' });
    expect((await stripe.customers.create({ email: 'y@acme.test' }, { idempotencyKey: 'k2' })).email).toBe(
      'y@acme.test',
    );
  });

  it('retrieves, updates (merging metadata), searches, lists by exact email and deletes', async () => {
    const customer = await stripe.customers.create({
      email: 'Ops@acme.test',
      name: 'Acme',
      metadata: { org: 'acme', tier: 'a' },
    });
    const updated = await stripe.customers.update(customer.id, {
      name: 'Acme Inc',
      metadata: { tier: '', region: 'eu' },
    });
    expect(updated).toMatchObject({ name: 'Acme Inc', metadata: { org: 'acme', region: 'eu' } });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({
      name: 'Acme Inc',
    });
    expect((await stripe.customers.list({ email: 'ops@acme.test' })).data).toHaveLength(0);
    expect((await stripe.customers.list({ email: 'Ops@acme.test' })).data.map((c) => c.id)).toEqual([
      customer.id,
    ]);
    expect(
      (await stripe.customers.search({ query: "metadata['org']:'acme'" })).data.map((c) => c.id),
    ).toEqual([customer.id]);

    const [updatedEvent] = await receivedOf('customer.updated');
    expect(updatedEvent?.data.previous_attributes).toMatchObject({
      name: 'Acme',
      metadata: { org: 'acme', tier: 'a' },
    });

    await stripe.customers.del(customer.id);
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id, deleted: true });
    await expect(stripe.customers.update(customer.id, { name: 'x' })).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
    expect(await receivedOf('customer.deleted')).toHaveLength(1);
  });
});

describe('fault injection', () => {
  it('answers injected 429s that the client retries on its own', async () => {
    await local.control.injectFault({ path: '/v1/customers', method: 'POST', status: 429, count: 2 });
    const customer = await stripe.customers.create({ email: 'retry@acme.test' });
    const log = await local.control.requests({ method: 'POST', path: '/v1/customers' });
    expect(log.map((entry) => entry.status)).toEqual([429, 429, 200]);
    // The client reuses its generated idempotency key on every retry.
    expect(new Set(log.map((entry) => entry.idempotencyKey)).size).toBe(1);
    expect((await stripe.customers.list()).data.map((c) => c.id)).toEqual([customer.id]);
  });

  it('surfaces 500s once the client’s retries are spent, and 429s that say not to retry', async () => {
    await local.control.injectFault({ path: '/v1/checkout/*', status: 500, count: 3 });
    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_standard', quantity: 1 }],
      }),
    ).rejects.toMatchObject({ type: 'StripeAPIError', statusCode: 500 });
    expect((await local.control.requests({ path: '/v1/checkout/sessions' })).map((e) => e.status)).toEqual([
      500, 500, 500,
    ]);

    await local.control.injectFault({ path: '/v1/customers*', status: 429, shouldRetry: false });
    await expect(stripe.customers.list()).rejects.toMatchObject({
      type: 'StripeRateLimitError',
      code: 'rate_limit',
    });
    expect((await local.control.faults()).every((fault) => fault.remaining === 0)).toBe(true);
  });

  it('replays the stored answer when a 500 hides a request that did execute (no second customer)', async () => {
    await local.control.injectFault({ path: '/v1/customers', method: 'POST', status: 500, phase: 'after' });
    const customer = await stripe.customers.create(
      { email: 'lost-answer@acme.test' },
      { idempotencyKey: 'acct-1' },
    );
    const log = await local.control.requests({ method: 'POST', path: '/v1/customers' });
    expect(log.map((entry) => [entry.status, entry.replayed])).toEqual([
      [500, false],
      [200, true],
    ]);
    expect((await stripe.customers.list({ email: 'lost-answer@acme.test' })).data.map((c) => c.id)).toEqual([
      customer.id,
    ]);
  });
});

describe('checkout', () => {
  it('completes through the hosted page: subscription, paid invoice, webhooks, redirect', async () => {
    const customer = await stripe.customers.create({ email: 'owner@acme.test' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      client_reference_id: 'org_acme',
      line_items: [{ price: 'price_standard', quantity: 1 }, { price: 'price_api_calls' }],
      success_url: 'http://app.test/billing/success?session={CHECKOUT_SESSION_ID}',
      cancel_url: 'http://app.test/billing',
      metadata: { org: 'acme' },
      subscription_data: { metadata: { org: 'acme', plan: 'standard' } },
    });
    expect(session).toMatchObject({
      object: 'checkout.session',
      status: 'open',
      payment_status: 'unpaid',
      amount_total: 3000,
    });
    expect(session.url?.startsWith(`${local.url}/c/pay/`)).toBe(true);

    const page = await fetch(String(session.url));
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('Standard');
    expect(html).toContain('API calls');
    expect(html).toContain('$30.00');
    expect(html).toMatch(/<button type="submit">Pay/);

    const declined = await fetch(String(session.url), {
      method: 'POST',
      body: new URLSearchParams({ card: 'decline' }),
      redirect: 'manual',
    });
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain('Your card was declined.');
    expect((await stripe.checkout.sessions.retrieve(session.id)).status).toBe('open');

    const paid = await fetch(String(session.url), {
      method: 'POST',
      body: new URLSearchParams({ card: 'succeed' }),
      redirect: 'manual',
    });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(`http://app.test/billing/success?session=${session.id}`);
    // A second click on Pay does not subscribe twice.
    const twice = await fetch(String(session.url), {
      method: 'POST',
      body: new URLSearchParams({ card: 'succeed' }),
      redirect: 'manual',
    });
    expect(twice.status).toBe(303);

    const completed = await stripe.checkout.sessions.retrieve(session.id, {
      expand: ['subscription', 'subscription.latest_invoice', 'customer', 'line_items'],
    });
    expect(completed).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      client_reference_id: 'org_acme',
    });
    expect((completed.customer as Stripe.Customer).email).toBe('owner@acme.test');
    expect(completed.line_items?.data.map((item) => item.price?.id)).toEqual([
      'price_standard',
      'price_api_calls',
    ]);
    const subscription = completed.subscription as Stripe.Subscription;
    expect(subscription).toMatchObject({
      status: 'active',
      metadata: { org: 'acme', plan: 'standard' },
      cancel_at_period_end: false,
    });
    const [base, metered] = subscription.items.data;
    expect(base?.price.id).toBe('price_standard');
    expect(base?.quantity).toBe(1);
    expect(metered?.price.id).toBe('price_api_calls');
    expect(base?.current_period_end).toBeGreaterThan(base?.current_period_start ?? Infinity);
    expect((base?.current_period_end ?? 0) - (base?.current_period_start ?? 0)).toBeGreaterThanOrEqual(
      28 * DAY,
    );
    const invoice = subscription.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      status: 'paid',
      amount_paid: 3000,
      billing_reason: 'subscription_create',
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(subscription.id);
    expect(invoice.hosted_invoice_url).toBe(`${local.url}/i/${invoice.id}`);
    expect((await fetch(String(invoice.invoice_pdf))).headers.get('content-type')).toBe('application/pdf');
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(1);
    const lineItems = await stripe.checkout.sessions.listLineItems(session.id);
    expect(lineItems.data.map((item) => [item.price?.id, item.quantity])).toEqual([
      ['price_standard', 1],
      ['price_api_calls', null],
    ]);

    for (const type of [
      'checkout.session.completed',
      'customer.subscription.created',
      'invoice.finalized',
      'invoice.paid',
    ]) {
      expect(await receivedOf(type), type).toHaveLength(1);
    }
    const [completedEvent] = await receivedOf('checkout.session.completed');
    expect((completedEvent?.data.object as Stripe.Checkout.Session | undefined)?.subscription).toBe(
      subscription.id,
    );
    const [activated] = await receivedOf('customer.subscription.updated');
    expect(activated?.data.previous_attributes).toMatchObject({ status: 'incomplete' });
    // Retrieved events are the ones delivered.
    expect((await stripe.events.retrieve(String(completedEvent?.id))).type).toBe(
      'checkout.session.completed',
    );
  });

  it('creates the customer when the session has none, validates line items and expires sessions', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_pro', quantity: 2 }],
      success_url: 'http://app.test/ok',
    });
    expect(session.customer).toBeNull();
    const form = await (await fetch(String(session.url))).text();
    expect(form).toContain('name="email"');
    const { redirect } = await local.control.completeCheckout(session.id, { email: 'new@acme.test' });
    expect(redirect).toBe('http://app.test/ok');
    const completed = await stripe.checkout.sessions.retrieve(session.id);
    const customer = (await stripe.customers.retrieve(String(completed.customer))) as Stripe.Customer;
    expect(customer.email).toBe('new@acme.test');
    expect((await stripe.invoices.retrieve(String(completed.invoice))).amount_paid).toBe(18_000);

    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_api_calls', quantity: 1 }],
      }),
    ).rejects.toMatchObject({ param: 'line_items[0][quantity]' });
    await expect(
      stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_standard' }] }),
    ).rejects.toMatchObject({ param: 'line_items[0][quantity]' });
    await expect(
      stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: 'price_nope', quantity: 1 }],
      }),
    ).rejects.toMatchObject({ statusCode: 404, param: 'line_items[0][price]' });

    const open = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_standard', quantity: 1 }],
    });
    expect((await stripe.checkout.sessions.expire(open.id)).status).toBe('expired');
    await expect(stripe.checkout.sessions.expire(open.id)).rejects.toMatchObject({ statusCode: 400 });
    const later = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_standard', quantity: 1 }],
    });
    await local.control.advanceClock(25 * HOUR);
    expect((await stripe.checkout.sessions.retrieve(later.id)).status).toBe('expired');
    expect((await stripe.checkout.sessions.list({ status: 'expired' })).data).toHaveLength(2);
    expect(await receivedOf('checkout.session.expired')).toHaveLength(2);
  });
});

describe('subscriptions, invoices and previews', () => {
  it('previews a plan change with proration lines, then applies it with create_prorations', async () => {
    const { customer, subscription } = await subscribe();
    const item = subscription.items.data[0];
    const period = { start: item?.current_period_start ?? 0, end: item?.current_period_end ?? 0 };
    const prorationDate = period.start + Math.floor((period.end - period.start) / 2);
    const fraction = (period.end - prorationDate) / (period.end - period.start);

    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: subscription.id,
      subscription_details: {
        items: [{ id: item?.id, price: 'price_pro' }],
        proration_behavior: 'create_prorations',
        proration_date: prorationDate,
      },
    });
    expect(preview.id.startsWith('upcoming_in_')).toBe(true);
    const prorations = preview.lines.data.filter((line) => line.parent?.subscription_item_details?.proration);
    expect(prorations.map((line) => line.amount)).toEqual([
      -Math.round(3000 * fraction),
      Math.round(9000 * fraction),
    ]);
    expect(prorations[0]?.description).toMatch(/^Unused time on Standard after /);
    expect(preview.parent?.subscription_details?.subscription_proration_date).toBe(prorationDate);
    const next = preview.lines.data.find((line) => !line.parent?.subscription_item_details?.proration);
    expect(next).toMatchObject({ amount: 9000, period: { start: period.end } });
    expect(preview.amount_due).toBe(9000 + Math.round(9000 * fraction) - Math.round(3000 * fraction));
    // A preview is never stored.
    expect((await stripe.invoices.list({ customer: customer.id })).data).toHaveLength(1);

    const updated = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item?.id, price: 'price_pro' }],
      proration_behavior: 'create_prorations',
      proration_date: prorationDate,
    });
    expect(updated.items.data[0]).toMatchObject({ id: item?.id, price: { id: 'price_pro' } });
    const [changed] = await receivedOf('customer.subscription.updated');
    expect(changed).toBeDefined();
    const afterChange = await stripe.invoices.createPreview({ subscription: subscription.id });
    expect(afterChange.amount_due).toBe(preview.amount_due);
  });

  it('invoices prorations at once with always_invoice, and previews a new subscription', async () => {
    const { customer, subscription } = await subscribe();
    const item = subscription.items.data[0];
    await stripe.subscriptions.update(subscription.id, {
      items: [{ id: item?.id, price: 'price_pro' }],
      proration_behavior: 'always_invoice',
    });
    const invoices = await stripe.invoices.list({ subscription: subscription.id });
    expect(invoices.data.map((invoice) => invoice.billing_reason)).toEqual([
      'subscription_update',
      'subscription_create',
    ]);
    const [update] = invoices.data;
    expect(update?.status).toBe('paid');
    expect(update?.lines.data.every((line) => line.parent?.subscription_item_details?.proration)).toBe(true);
    expect((await stripe.invoices.listLineItems(String(update?.id))).data).toHaveLength(2);
    expect((await stripe.subscriptions.retrieve(subscription.id)).latest_invoice).toBe(update?.id);

    const fresh = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription_details: { items: [{ price: 'price_standard', quantity: 3 }] },
    });
    expect(fresh).toMatchObject({ billing_reason: 'subscription_create', amount_due: 9000 });
  });

  it('cancels at period end and resumes, cancels at once, and lists by status', async () => {
    const { customer, subscription } = await subscribe();
    const end = subscription.items.data[0]?.current_period_end;
    const canceling = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    expect(canceling).toMatchObject({ cancel_at_period_end: true, cancel_at: end, status: 'active' });
    const resumed = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: false });
    expect(resumed).toMatchObject({ cancel_at_period_end: false, cancel_at: null, canceled_at: null });
    const updates = await receivedOf('customer.subscription.updated');
    expect(updates.at(-2)?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
    expect(updates.at(-1)?.data.previous_attributes).toMatchObject({ cancel_at_period_end: true });

    const canceled = await stripe.subscriptions.cancel(subscription.id, {
      cancellation_details: { feedback: 'too_expensive' },
    });
    expect(canceled).toMatchObject({
      status: 'canceled',
      cancellation_details: { feedback: 'too_expensive' },
    });
    expect(canceled.ended_at).not.toBeNull();
    expect(await receivedOf('customer.subscription.deleted')).toHaveLength(1);
    await expect(
      stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true }),
    ).rejects.toMatchObject({
      statusCode: 400,
    });
    expect(
      (await stripe.subscriptions.update(subscription.id, { metadata: { note: 'gone' } })).metadata.note,
    ).toBe('gone');

    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toHaveLength(1);
    expect(
      (await stripe.subscriptions.list({ customer: customer.id, status: 'canceled' })).data,
    ).toHaveLength(1);
    expect((await stripe.subscriptionItems.list({ subscription: subscription.id })).data).toHaveLength(1);
    const expanded = await stripe.subscriptions.list({
      customer: customer.id,
      status: 'all',
      expand: ['data.items', 'data.latest_invoice', 'data.customer'],
    });
    expect((expanded.data[0]?.latest_invoice as Stripe.Invoice | undefined)?.object).toBe('invoice');
    expect((expanded.data[0]?.customer as Stripe.Customer | undefined)?.id).toBe(customer.id);
    await expect(
      stripe.subscriptions.retrieve(subscription.id, { expand: ['no_such_field'] }),
    ).rejects.toMatchObject({
      statusCode: 400,
      message: 'This property cannot be expanded (no_such_field).',
    });
  });

  it('cancels at once with a final invoice of prorated credit and usage, or credits the balance', async () => {
    const { customer, subscription } = await subscribe([
      { price: 'price_pro', quantity: 1 },
      { price: 'price_api_calls' },
    ]);
    await stripe.billing.meterEvents.create({
      event_name: 'api_calls',
      payload: { stripe_customer_id: customer.id, value: '4200' },
    });
    const canceledAt = await local.control.advanceClock(10 * DAY);
    await stripe.subscriptions.cancel(subscription.id, { invoice_now: true, prorate: true });
    const { current_period_start: start = 0, current_period_end: end = 0 } = subscription.items.data[0] ?? {};
    const [final] = (await stripe.invoices.list({ subscription: subscription.id })).data;
    const lines = final?.lines.data ?? [];
    const credit = lines.find((line) => line.amount < 0);
    const usage = lines.find((line) => line.pricing?.price_details?.price === 'price_api_calls');
    expect(credit?.description).toMatch(/^Unused time on Pro after /);
    // Unused time from the cancellation (a second after `canceledAt` at most) to the period end.
    const expected = -Math.round((9000 * (end - canceledAt)) / (end - start));
    expect(Math.abs((credit?.amount ?? 0) - expected)).toBeLessThanOrEqual(1);
    expect(usage).toMatchObject({ quantity: 4200, amount: 250 });
    // The credit exceeds the usage: nothing is due and the rest is the customer's balance.
    expect(final).toMatchObject({ amount_due: 0, status: 'paid' });
    const after = (await stripe.customers.retrieve(customer.id)) as Stripe.Customer;
    expect(after.balance).toBe((credit?.amount ?? 0) + 250);

    const next = await subscribe();
    await stripe.subscriptions.cancel(next.subscription.id, { prorate: true });
    const nextCustomer = (await stripe.customers.retrieve(next.customer.id)) as Stripe.Customer;
    expect(nextCustomer.balance).toBeLessThan(-2900);
  });

  it('turns past_due on a failed payment and active again when the invoice is paid', async () => {
    const { customer, subscription } = await subscribe();
    const [failure] = await local.control.trigger('invoice.payment_failed', {
      subscription: subscription.id,
    });
    expect(failure?.type).toBe('invoice.created');
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    const [failed] = await receivedOf('invoice.payment_failed');
    const invoice = failed?.data.object as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'open', attempted: true, attempt_count: 1 });

    await expect(stripe.invoices.pay(invoice.id)).rejects.toMatchObject({
      type: 'StripeCardError',
      code: 'card_declined',
    });
    await local.control.setPaymentOutcome(customer.id, 'succeed');
    expect((await stripe.invoices.pay(invoice.id)).status).toBe('paid');
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('active');
    expect((await stripe.invoices.list({ customer: customer.id, status: 'paid' })).data).toHaveLength(2);

    await local.control.trigger('customer.updated', {
      customer: customer.id,
      changes: { email: 'new@acme.test' },
    });
    const [customerUpdated] = await receivedOf('customer.updated');
    expect(customerUpdated?.data.previous_attributes).toMatchObject({ email: 'owner@example.test' });
  });
});

describe('subscriptions created through the API', () => {
  it('creates an active subscription with a paid invoice, unless the card declines', async () => {
    const customer = await stripe.customers.create({ email: 'api@acme.test' });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_standard', quantity: 2 }, { price: 'price_api_calls' }],
      metadata: { org: 'acme' },
      expand: ['latest_invoice'],
    });
    expect(subscription).toMatchObject({ status: 'active', metadata: { org: 'acme' } });
    expect((subscription.latest_invoice as Stripe.Invoice).amount_paid).toBe(6000);
    const item = await stripe.subscriptionItems.retrieve(String(subscription.items.data[0]?.id));
    expect(item).toMatchObject({ object: 'subscription_item', subscription: subscription.id, quantity: 2 });
    expect(subscription.items.data[1]?.quantity).toBeUndefined();

    const invoicePage = await fetch(`${local.url}/i/${(subscription.latest_invoice as Stripe.Invoice).id}`);
    expect(await invoicePage.text()).toContain('$60.00');

    await local.control.setPaymentOutcome(customer.id, 'decline');
    await expect(
      stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_pro', quantity: 1 }] }),
    ).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined' });
  });
});

describe('billing portal', () => {
  it('opens a page where the plan is canceled at period end, resumed, changed and canceled', async () => {
    const { customer, subscription } = await subscribe();
    const session = await stripe.billingPortal.sessions.create({
      customer: customer.id,
      return_url: 'http://app.test/billing',
    });
    expect(session).toMatchObject({ object: 'billing_portal.session', customer: customer.id });
    const page = await (await fetch(session.url)).text();
    expect(page).toContain(subscription.id);
    expect(page).toContain('Cancel plan');
    expect(page).toContain('http://app.test/billing');

    const post = (fields: Record<string, string>) =>
      fetch(session.url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
    expect((await post({ action: 'cancel', subscription: subscription.id })).status).toBe(303);
    expect((await stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    await post({ action: 'resume', subscription: subscription.id });
    expect((await stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(false);
    await post({
      action: 'change',
      subscription: subscription.id,
      item: String(subscription.items.data[0]?.id),
      price: 'price_pro',
    });
    expect((await stripe.subscriptions.retrieve(subscription.id)).items.data[0]?.price.id).toBe('price_pro');
    expect(await receivedOf('customer.subscription.updated')).toHaveLength(4);
    await post({ action: 'cancel_now', subscription: subscription.id });
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('canceled');
    expect(await receivedOf('customer.subscription.deleted')).toHaveLength(1);

    const second = await subscribe();
    await local.control.trigger('invoice.payment_failed', { subscription: second.subscription.id });
    expect((await stripe.subscriptions.retrieve(second.subscription.id)).status).toBe('past_due');
    const secondPortal = await stripe.billingPortal.sessions.create({ customer: second.customer.id });
    expect(await (await fetch(secondPortal.url)).text()).toContain('declines');
    await fetch(secondPortal.url, {
      method: 'POST',
      body: new URLSearchParams({ action: 'fix_payment' }),
      redirect: 'manual',
    });
    expect((await stripe.subscriptions.retrieve(second.subscription.id)).status).toBe('active');

    const stranger = await stripe.customers.create({ email: 'stranger@example.test' });
    const theirs = await stripe.billingPortal.sessions.create({ customer: stranger.id });
    const refused = await fetch(theirs.url, {
      method: 'POST',
      body: new URLSearchParams({ action: 'cancel', subscription: subscription.id }),
      redirect: 'manual',
    });
    expect(refused.status).toBe(400);
  });
});

describe('billing meters', () => {
  it('creates and lists meters, dedupes meter events by identifier, cancels and summarises them', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'Storage',
      event_name: 'storage_gb',
      default_aggregation: { formula: 'sum' },
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
      value_settings: { event_payload_key: 'value' },
    });
    expect(meter).toMatchObject({ object: 'billing.meter', status: 'active', event_name: 'storage_gb' });
    await expect(
      stripe.billing.meters.create({
        display_name: 'again',
        event_name: 'storage_gb',
        default_aggregation: { formula: 'sum' },
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'event_name' });
    expect((await stripe.billing.meters.list()).data.map((m) => m.id)).toContain(meter.id);
    expect((await stripe.billing.meters.retrieve(meter.id)).display_name).toBe('Storage');

    const customer = await stripe.customers.create({ email: 'usage@acme.test' });
    const now = await local.control.now();
    const dayStart = Math.floor(now / DAY) * DAY - DAY;
    const send = (identifier: string, value: number, timestamp: number) =>
      stripe.billing.meterEvents.create({
        event_name: 'api_calls',
        identifier,
        timestamp,
        payload: { stripe_customer_id: customer.id, value: String(value) },
      });
    const created = await send('req-1', 100, dayStart + 10);
    expect(created).toMatchObject({
      object: 'billing.meter_event',
      identifier: 'req-1',
      timestamp: dayStart + 10,
    });
    await send('req-2', 250, dayStart + HOUR + 5);
    await send('req-3', 7, dayStart + HOUR + 6);
    await local.control.clearRequests();
    await expect(send('req-1', 100, dayStart + 10)).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      message: 'An event already exists with identifier req-1.',
    });
    // Stripe-Should-Retry: false, so the client did not retry the rejected duplicate.
    expect(await local.control.requests({ path: '/v1/billing/meter_events' })).toHaveLength(1);
    const adjustment = await stripe.billing.meterEventAdjustments.create({
      event_name: 'api_calls',
      type: 'cancel',
      cancel: { identifier: 'req-3' },
    });
    expect(adjustment).toMatchObject({
      object: 'billing.meter_event_adjustment',
      type: 'cancel',
      cancel: { identifier: 'req-3' },
    });

    const hourly = await stripe.billing.meters.listEventSummaries('mtr_test_api_calls', {
      customer: customer.id,
      start_time: dayStart,
      end_time: dayStart + 3 * HOUR,
      value_grouping_window: 'hour',
    });
    expect(hourly.data.map((summary) => [summary.start_time, summary.aggregated_value])).toEqual([
      [dayStart, 100],
      [dayStart + HOUR, 250],
      [dayStart + 2 * HOUR, 0],
    ]);
    expect(hourly.data[0]).toMatchObject({
      object: 'billing.meter_event_summary',
      meter: 'mtr_test_api_calls',
      end_time: dayStart + HOUR,
    });
    const daily = await stripe.billing.meters.listEventSummaries('mtr_test_api_calls', {
      customer: customer.id,
      start_time: dayStart,
      end_time: dayStart + 2 * DAY,
      value_grouping_window: 'day',
    });
    expect(daily.data.map((summary) => summary.aggregated_value)).toEqual([350, 0]);
    const whole = await stripe.billing.meters.listEventSummaries('mtr_test_api_calls', {
      customer: customer.id,
      start_time: dayStart,
      end_time: dayStart + 2 * DAY,
    });
    expect(whole.data.map((summary) => summary.aggregated_value)).toEqual([350]);
    await expect(
      stripe.billing.meters.listEventSummaries('mtr_test_api_calls', {
        customer: customer.id,
        start_time: dayStart + 30,
        end_time: dayStart + DAY,
        value_grouping_window: 'hour',
      }),
    ).rejects.toMatchObject({ param: 'start_time' });

    // Like Stripe, ingestion accepts events it cannot attribute and reports them later.
    await stripe.billing.meterEvents.create({
      event_name: 'api_calls',
      payload: { stripe_customer_id: 'cus_nobody', value: '1' },
    });
    await stripe.billing.meterEvents.create({
      event_name: 'no_such_meter',
      payload: { stripe_customer_id: customer.id, value: '1' },
    });
    expect((await local.control.meterEventErrors()).map((error) => error.code)).toEqual([
      'meter_event_customer_not_found',
      'no_meter',
    ]);

    const deactivated = await stripe.billing.meters.deactivate(meter.id);
    expect(deactivated.status).toBe('inactive');
    expect((await stripe.billing.meters.list({ status: 'active' })).data.map((m) => m.id)).not.toContain(
      meter.id,
    );
    expect((await stripe.billing.meters.reactivate(meter.id)).status).toBe('active');
    expect(
      (await stripe.billing.meters.update(meter.id, { display_name: 'Storage (GB)' })).display_name,
    ).toBe('Storage (GB)');
  });

  it('keeps only the last event per window on a pre-aggregated meter', async () => {
    const customer = await stripe.customers.create({ email: 'gb@acme.test' });
    const hour = Math.floor((await local.control.now()) / HOUR) * HOUR - HOUR;
    for (const [value, offset] of [
      [5, 10],
      [8, 20],
    ] as const) {
      await stripe.billing.meterEvents.create({
        event_name: 'gb_hours',
        timestamp: hour + offset,
        payload: { stripe_customer_id: customer.id, value: String(value) },
      });
    }
    const summary = await stripe.billing.meters.listEventSummaries('mtr_test_gb_hours', {
      customer: customer.id,
      start_time: hour,
      end_time: hour + HOUR,
    });
    expect(summary.data[0]?.aggregated_value).toBe(8);
  });
});

describe('webhooks', () => {
  it('signs deliveries so constructEventAsync verifies them, and another secret does not', async () => {
    const customer = await stripe.customers.create({ email: 'signed@acme.test' });
    const [created] = await receivedOf('customer.created');
    expect((created?.data.object as Stripe.Customer | undefined)?.id).toBe(customer.id);
    expect(created?.request?.idempotency_key).toMatch(/^stripe-node-retry-/);

    const event = await stripe.events.retrieve(String(created?.id));
    const payload = JSON.stringify(event, null, 2);
    const { signPayload } = await import('./webhooks.ts');
    const header = signPayload(payload, local.webhookSecret);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    await expect(
      stripe.webhooks.constructEventAsync(payload, header, local.webhookSecret),
    ).resolves.toMatchObject({ id: event.id });
    await expect(stripe.webhooks.constructEventAsync(payload, header, 'whsec_other')).rejects.toMatchObject({
      type: 'StripeSignatureVerificationError',
    });
  });

  it('retries failed deliveries until the endpoint accepts them', async () => {
    failNextDeliveries = 2;
    await stripe.customers.create({ email: 'retry-hook@acme.test' });
    expect(await receivedOf('customer.created')).toHaveLength(1);
    const deliveries = await local.control.deliveries();
    expect(deliveries.map((delivery) => [delivery.type, delivery.attempt, delivery.status])).toEqual([
      ['customer.created', 1, 500],
      ['customer.created', 2, 500],
      ['customer.created', 3, 200],
    ]);
    expect((await stripe.events.list({ delivery_success: true })).data).toHaveLength(1);
  });

  it('holds deliveries and releases them shuffled with duplicates, and redelivers on demand', async () => {
    await local.control.pauseWebhooks();
    await subscribe();
    const held = (await local.control.webhooks()).queued;
    expect(held.length).toBeGreaterThanOrEqual(8);
    expect(received).toHaveLength(0);
    await local.control.resumeWebhooks({ order: 'shuffle', duplicates: 1, seed: 7 });
    await local.control.webhooksIdle();
    expect(received).toHaveLength(held.length * 2);
    const order = received.map((event) => event.id);
    const sorted = [...new Set(order)];
    expect(order.slice(0, sorted.length)).not.toEqual(held.map((entry) => entry.event));

    received.length = 0;
    const [completed] = (await stripe.events.list({ type: 'checkout.session.completed' })).data;
    expect(await local.control.redeliver({ events: [String(completed?.id)], duplicates: 2 })).toBe(3);
    expect((await receivedOf('checkout.session.completed')).map((event) => event.id)).toEqual([
      completed?.id,
      completed?.id,
      completed?.id,
    ]);
  });

  it('switches the endpoint and its secret at run time', async () => {
    await local.control.setWebhookEndpoint(receiverUrl, 'whsec_rotated_secret_for_the_test');
    try {
      await stripe.customers.create({ email: 'rotated@acme.test' });
      await local.control.webhooksIdle();
      // The receiver checks the old secret, so it refuses every attempt.
      expect(received).toHaveLength(0);
      expect((await local.control.deliveries()).map((delivery) => delivery.status)).toEqual([
        400, 400, 400, 400,
      ]);
    } finally {
      await local.control.setWebhookEndpoint(receiverUrl, local.webhookSecret);
    }
  });

  it('delivers through webhookFetch, so an in-process app needs no port', async () => {
    const bodies: { url: string; signature: string; body: string }[] = [];
    const inProcess = await startStripeLocal({
      webhookUrl: 'http://app.internal/webhooks/stripe',
      webhookSecret: 'whsec_in_process_test_secret',
      webhookFetch: async (url, init) => {
        const request = new Request(url, init);
        bodies.push({
          url,
          signature: String(request.headers.get('stripe-signature')),
          body: await request.text(),
        });
        return new Response('ok');
      },
    });
    try {
      const client = new Stripe(inProcess.secretKey, inProcess.clientOptions);
      await client.customers.create({ email: 'in-process@acme.test' });
      await inProcess.control.webhooksIdle();
      expect(bodies).toHaveLength(1);
      const event = await client.webhooks.constructEventAsync(
        String(bodies[0]?.body),
        String(bodies[0]?.signature),
        'whsec_in_process_test_secret',
      );
      expect(event.type).toBe('customer.created');
      expect(bodies[0]?.url).toBe('http://app.internal/webhooks/stripe');
    } finally {
      await inProcess.stop();
    }
  });

  it('lists and retrieves events with type filters', async () => {
    await subscribe();
    const invoiceEvents = await stripe.events.list({ type: 'invoice.*', limit: 100 });
    expect(invoiceEvents.data.length).toBeGreaterThanOrEqual(4);
    expect(invoiceEvents.data.every((event) => event.type.startsWith('invoice.'))).toBe(true);
    const some = await stripe.events.list({ types: ['customer.created', 'checkout.session.completed'] });
    expect(some.data.map((event) => event.type).sort()).toEqual([
      'checkout.session.completed',
      'customer.created',
    ]);
    expect(some.data[0]).toMatchObject({ object: 'event', api_version: Stripe.API_VERSION, livemode: false });
  });
});

describe('the clock', () => {
  it('rolls a period over: new period on the items, an invoice with the usage, paid, with webhooks', async () => {
    const { customer, subscription } = await subscribe([
      { price: 'price_standard', quantity: 1 },
      { price: 'price_api_calls' },
    ]);
    const [base] = subscription.items.data;
    const end = base?.current_period_end ?? 0;
    const now = await local.control.now();
    await stripe.billing.meterEvents.create({
      event_name: 'api_calls',
      timestamp: now,
      payload: { stripe_customer_id: customer.id, value: '1500' },
    });
    await stripe.billing.meterEvents.create({
      event_name: 'api_calls',
      timestamp: now,
      payload: { stripe_customer_id: customer.id, value: '1000' },
    });
    const upcoming = await stripe.invoices.createPreview({ subscription: subscription.id });
    expect(upcoming.amount_due).toBe(3000 + 3 * 50);

    await local.control.advanceClock(end - now + 60);
    const renewed = await stripe.subscriptions.retrieve(subscription.id);
    expect(renewed.status).toBe('active');
    expect(renewed.items.data[0]?.current_period_start).toBe(end);
    expect(renewed.items.data[1]?.current_period_start).toBe(end);
    const [cycle] = (await stripe.invoices.list({ subscription: subscription.id })).data;
    expect(cycle).toMatchObject({
      billing_reason: 'subscription_cycle',
      status: 'paid',
      period_end: end,
      amount_paid: 3000 + 150,
    });
    expect(renewed.latest_invoice).toBe(cycle?.id);
    const usage = cycle?.lines.data.find((line) => line.pricing?.price_details?.price === 'price_api_calls');
    expect(usage).toMatchObject({ quantity: 2500, amount: 150 });
    expect(await receivedOf('invoice.paid')).toHaveLength(2);
    const updates = await receivedOf('customer.subscription.updated');
    // Activation at checkout, then one event for the renewal (new period and latest invoice together).
    expect(updates).toHaveLength(2);
    expect(Object.keys(updates[1]?.data.previous_attributes ?? {}).sort()).toEqual([
      'items',
      'latest_invoice',
    ]);
  });

  it('ends a subscription set to cancel at period end', async () => {
    const { subscription } = await subscribe();
    await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true });
    const end = subscription.items.data[0]?.current_period_end ?? 0;
    await local.control.setClock(end + 1);
    expect(await stripe.subscriptions.retrieve(subscription.id)).toMatchObject({
      status: 'canceled',
      ended_at: end,
    });
    const [deleted] = await receivedOf('customer.subscription.deleted');
    expect((deleted?.data.object as Stripe.Subscription | undefined)?.status).toBe('canceled');
  });

  it('retries a failed renewal and cancels after the last retry (Stripe’s default)', async () => {
    const { customer, subscription } = await subscribe();
    await local.control.setPaymentOutcome(customer.id, 'decline');
    const end = subscription.items.data[0]?.current_period_end ?? 0;
    await local.control.setClock(end + 60);
    expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
    const [open] = (await stripe.invoices.list({ subscription: subscription.id, status: 'open' })).data;
    expect(open?.next_payment_attempt).toBe(end + 3 * DAY);
    await local.control.advanceClock(3 * DAY);
    expect((await stripe.invoices.retrieve(String(open?.id))).attempt_count).toBe(2);
    await local.control.advanceClock(5 * DAY);
    expect(await stripe.subscriptions.retrieve(subscription.id)).toMatchObject({
      status: 'canceled',
      cancellation_details: { reason: 'payment_failed' },
    });
    expect(await receivedOf('invoice.payment_failed')).toHaveLength(4);
  });
});
