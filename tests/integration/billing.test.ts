import fc from 'fast-check';
import type Stripe from 'stripe';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { enforceBillingGraceJob, reconcileBillingJob } from '../../src/jobs/reconcile-billing.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { plans } from '../../src/schemas/plans.ts';
import { meterEventName, stripeCatalogue } from '../../src/services/billing/catalogue.ts';
import { costOf } from '../../src/services/billing/cost.ts';
import { syncAccountFromStripe } from '../../src/services/billing/stripe-sync.ts';
import { processPendingStripeEvents } from '../../src/services/billing/webhooks.ts';
import {
  as,
  asJson,
  createOrgFor,
  createProjectFor,
  grant,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { startStripeLocal } from '../stripe-local/index.ts';

// The app under test delivers to itself: the local Stripe server posts its webhooks in-process.
let deliver: (url: string, init: RequestInit) => Promise<Response> = async () =>
  new Response(null, { status: 503 });
const stripeLocal = await startStripeLocal({
  ...stripeCatalogue(),
  webhookUrl: 'http://localhost/webhooks/stripe',
  webhookFetch: (url, init) => deliver(url, init),
});
afterAll(() => stripeLocal.stop());

describe('billing with Stripe', () => {
  const t = useTestApp({
    STRIPE_SECRET_KEY: stripeLocal.secretKey,
    STRIPE_API_BASE: stripeLocal.url,
    STRIPE_WEBHOOK_SECRET: stripeLocal.webhookSecret,
    BASE_URL: ORIGIN,
  });
  const control = stripeLocal.control;
  const stripe = () => t.deps.stripe as Stripe;

  beforeEach(async () => {
    deliver = async (url, init) => t.app.request(url, init);
    await control.reset();
    // Stripe signs with the wall clock; the app verifies against its own clock (300 s tolerance).
    t.clock.set(new Date());
  });

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    return { ada };
  }

  const account = () =>
    t.database.db
      .selectFrom('ktrlplane.billing_accounts')
      .selectAll()
      .where('scope_type', '=', 'organization')
      .where('scope_id', '=', 'acme')
      .executeTakeFirst();

  /** Lets the webhooks land and the app's after-response processing run. */
  async function settle() {
    await control.webhooksIdle();
    // The app processes each fresh event after answering; wait until every stored event is done.
    for (let tries = 0; tries < 200; tries++) {
      await processPendingStripeEvents(t.database.db, stripe(), () => t.clock.now());
      const open = await t.database.db
        .selectFrom('ktrlplane.stripe_events')
        .select('event_id')
        .where('processed_at', 'is', null)
        .execute();
      if (open.length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('stripe events still unprocessed');
  }

  async function subscribe(ada: Awaited<ReturnType<typeof setup>>['ada'], plan = 'standard') {
    const res = await t.app.request('/organizations/acme/billing/checkout', {
      method: 'POST',
      headers: as(ada, { Origin: ORIGIN, 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: `plan=${plan}`,
    });
    expect(res.status).toBe(303);
    const url = res.headers.get('Location') ?? '';
    expect(url.startsWith(stripeLocal.url)).toBe(true);
    const sessionId = /cs_[A-Za-z0-9_]+/.exec(url)?.[0] ?? '';
    const done = await control.completeCheckout(sessionId);
    expect(done.redirect).toContain('/organizations/acme/billing/success?session_id=cs_');
    await settle();
  }

  it('subscribes through Checkout, shows "activating…" until the webhook confirms, then allows standard SKUs', async () => {
    const { ada } = await setup();
    const standard = () =>
      t.app.request('/projects/web/resources', {
        method: 'POST',
        headers: asJson(ada),
        body: JSON.stringify({ resource_id: 'g', name: 'G', type: 'Konnektr.Graph', sku: 'standard' }),
      });
    const refused = await standard();
    expect(refused.status).toBe(402);
    expect(await refused.json()).toMatchObject({
      needed_plan: 'standard',
      billing_url: '/organizations/acme/billing',
    });

    const before = await t.app.request('/organizations/acme/billing/status', { headers: asJson(ada) });
    expect(await before.json()).toMatchObject({ active: false });
    await subscribe(ada);
    const status = await t.app.request('/organizations/acme/billing/status', { headers: asJson(ada) });
    expect(await status.json()).toMatchObject({ active: true, status: 'active', plan: 'Standard' });
    expect(await account()).toMatchObject({ plan: 'standard', past_due_since: null });
    expect((await account())?.stripe_subscription_id).toMatch(/^sub_/);
    expect((await standard()).status).toBe(201);

    const page = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(page).toContain('data-testid="invoices"');
    const audit = await t.database.db
      .selectFrom('ktrlplane.audit_events')
      .select('action')
      .where('action', 'like', 'billing.%')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['billing.checkout_started', 'billing.subscription_changed']),
    );
  });

  it('shows Stripe’s upcoming-invoice preview and the card on file on the dashboard; a Stripe outage only hides them', async () => {
    const { ada } = await setup();
    const dashboard = async () =>
      (
        (await (await t.app.request('/organizations/acme/billing', { headers: asJson(ada) })).json()) as {
          dashboard: {
            period: { start: string; end: string };
            upcoming_invoice: { amount_due: number; lines: Array<{ amount: number }> } | null;
            payment_method: unknown;
            stripe_error: string | null;
          };
        }
      ).dashboard;
    expect((await dashboard()).upcoming_invoice).toBeNull();
    await subscribe(ada);
    const subscribed = await dashboard();
    const sub = await t.database.db
      .selectFrom('ktrlplane.subscriptions')
      .selectAll()
      .where('scope_id', '=', 'acme')
      .executeTakeFirstOrThrow();
    const preview = await stripe().invoices.createPreview({
      customer: sub.stripe_customer_id,
      subscription: sub.stripe_subscription_id,
    });
    expect(subscribed.upcoming_invoice?.amount_due).toBe(preview.amount_due);
    expect(subscribed.upcoming_invoice?.lines.map((line) => line.amount)).toEqual(
      preview.lines.data.map((l) => l.amount),
    );
    expect(subscribed.payment_method).toMatchObject({ brand: 'visa', last4: '4242' });
    // The billing period is the subscription's.
    expect(subscribed.period.start).toBe(sub.current_period_start?.toISOString());
    const html = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(html).toContain('VISA ···· 4242');

    // Stripe prices the free allowance as our cost engine does (a first tier at 0): 1.5 million
    // API calls = 1,500 meter units, 1,000 included, 500 × 5 ¢ — on the invoice and in our estimate.
    await stripe().billing.meterEvents.create({
      event_name: meterEventName('api_calls'),
      timestamp: Math.floor(Date.now() / 1000),
      payload: { stripe_customer_id: sub.stripe_customer_id, value: '1500' },
    });
    const withUsage = await dashboard();
    const ours = costOf(plans.standard, [
      { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 1_500_000 },
    ]);
    expect(ours.total).toBe(4900 + 2500);
    expect(withUsage.upcoming_invoice?.amount_due).toBe(ours.total);

    await control.injectFault({ path: '/v1/invoices/create_preview', status: 500, count: 5 });
    const outage = await dashboard();
    expect(outage.upcoming_invoice).toBeNull();
    expect(outage.stripe_error).toContain('Stripe could not be reached');
  });

  it('never makes a second customer: a double click, and a retry after Stripe answered 500', async () => {
    const { ada } = await setup();
    await control.injectFault({ path: '/v1/checkout/sessions', method: 'POST', status: 500, count: 3 });
    const post = () =>
      t.app.request('/organizations/acme/billing/checkout', {
        method: 'POST',
        headers: asJson(ada),
        body: JSON.stringify({ plan: 'standard' }),
      });
    const failed = await post();
    expect(failed.status).toBe(503);
    expect(failed.headers.get('Retry-After')).toBe('30');
    expect(((await failed.json()) as { detail: string }).detail).toContain('try again');
    const [first, second] = await Promise.all([post(), post()]);
    expect([first.status, second.status]).toEqual([201, 201]);
    const customers = await stripe().customers.list({ limit: 100 });
    expect(customers.data).toHaveLength(1);
    expect((await account())?.stripe_customer_id).toBe(customers.data[0]?.id);
  });

  it('rejects bad signatures with 400 and stores nothing; a duplicate delivery is acknowledged once', async () => {
    const payload = JSON.stringify({
      id: 'evt_test_1',
      object: 'event',
      type: 'customer.updated',
      created: 1,
      data: { object: { id: 'cus_x', object: 'customer' } },
    });
    const sign = (secret: string, timestamp?: number) =>
      stripe().webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
    const post = (body: string, signature: string) =>
      t.app.request('/webhooks/stripe', { method: 'POST', headers: { 'Stripe-Signature': signature }, body });
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect((await post(payload, await sign('whsec_wrong', now))).status).toBe(400);
    expect(
      (await post(payload.replace('cus_x', 'cus_y'), await sign(stripeLocal.webhookSecret, now))).status,
    ).toBe(400);
    expect((await post(payload, await sign(stripeLocal.webhookSecret, now - 301))).status).toBe(400);
    expect((await t.app.request('/webhooks/stripe', { method: 'POST', body: payload })).status).toBe(400);
    const stored = () => t.database.db.selectFrom('ktrlplane.stripe_events').selectAll().execute();
    expect(await stored()).toHaveLength(0);
    const good = await sign(stripeLocal.webhookSecret, now);
    expect(await (await post(payload, good)).json()).toEqual({ received: true, duplicate: false });
    expect(await (await post(payload, good)).json()).toEqual({ received: true, duplicate: true });
    expect(await stored()).toHaveLength(1);
  });

  it('converges: shuffled, duplicated subscription events end where the ordered stream does', async () => {
    const { ada } = await setup();
    await control.pauseWebhooks();
    await subscribe(ada);
    // More history while nothing is delivered: the subscription is set to end, then kept again and ended.
    const [subscription] = (await stripe().subscriptions.list({ status: 'all' })).data;
    const id = subscription?.id ?? '';
    await stripe().subscriptions.update(id, { cancel_at_period_end: true });
    await stripe().subscriptions.update(id, { cancel_at_period_end: false });
    await stripe().subscriptions.update(id, { cancel_at_period_end: true });
    const truth = (await stripe().subscriptions.list({ status: 'all' })).data.map((s) => ({
      stripe_subscription_id: s.id,
      status: s.status,
      cancel_at_period_end: s.cancel_at_period_end,
    }));
    expect(truth).toEqual([expect.objectContaining({ status: 'active', cancel_at_period_end: true })]);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 2 }),
        async (seed, duplicates) => {
          // Forget everything the webhooks taught, then replay them in a random order with copies.
          await t.database.db.deleteFrom('ktrlplane.stripe_events').execute();
          await t.database.db.deleteFrom('ktrlplane.subscriptions').execute();
          await t.database.db
            .updateTable('ktrlplane.billing_accounts')
            .set({ plan: 'free', stripe_subscription_id: null, synced_at: null })
            .execute();
          await control.redeliver({ order: 'shuffle', seed, duplicates });
          await control.resumeWebhooks({ order: 'shuffle', seed, duplicates });
          await settle();
          const mirror = await t.database.db
            .selectFrom('ktrlplane.subscriptions')
            .select(['stripe_subscription_id', 'status', 'cancel_at_period_end'])
            .execute();
          expect(mirror).toEqual(truth);
          expect(await account()).toMatchObject({ plan: 'standard', stripe_subscription_id: id });
        },
      ),
      { numRuns: 5 },
    );
  });

  it('previews a plan change with prorations, applies it, cancels at period end and resumes', async () => {
    const { ada } = await setup();
    await subscribe(ada);
    const preview = await t.app.request('/organizations/acme/billing/change?plan=premium', {
      headers: asJson(ada),
    });
    expect(preview.status).toBe(200);
    const body = (await preview.json()) as { amount_due: number; lines: Array<{ proration: boolean }> };
    expect(body.lines.some((line) => line.proration)).toBe(true);
    const page = await (
      await t.app.request('/organizations/acme/billing/change?plan=premium', { headers: as(ada) })
    ).text();
    expect(page).toContain('data-testid="proration-preview"');
    const changed = await t.app.request('/organizations/acme/billing/change', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ plan: 'premium' }),
    });
    expect(changed.status).toBe(200);
    expect(await account()).toMatchObject({ plan: 'premium' });
    const cancel = await t.app.request('/organizations/acme/billing/cancel', {
      method: 'POST',
      headers: asJson(ada),
    });
    expect(cancel.status).toBe(200);
    const sub = await t.database.db
      .selectFrom('ktrlplane.subscriptions')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(sub.cancel_at_period_end).toBe(true);
    expect(
      (await t.app.request('/organizations/acme/billing/cancel', { method: 'POST', headers: asJson(ada) }))
        .status,
    ).toBe(409);
    await t.app.request('/organizations/acme/billing/resume', { method: 'POST', headers: asJson(ada) });
    const resumed = await t.database.db
      .selectFrom('ktrlplane.subscriptions')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(resumed.cancel_at_period_end).toBe(false);
  });

  it('past due: a banner, suspension after the grace period, and resumption once paid', async () => {
    const { ada } = await setup();
    await subscribe(ada);
    const created = await t.app.request('/projects/web/resources', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ resource_id: 'g', name: 'G', type: 'Konnektr.Graph', sku: 'standard' }),
    });
    expect(created.status).toBe(201);
    const subscription = (await account())?.stripe_subscription_id ?? '';
    await control.trigger('invoice.payment_failed', { subscription });
    await settle();
    expect((await account())?.past_due_since).not.toBeNull();
    const page = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(page).toContain('An invoice is unpaid since');
    // Every page of the organization carries the banner with a link to fix the payment.
    const projectPage = await (await t.app.request('/projects/web', { headers: as(ada) })).text();
    expect(projectPage).toContain('data-testid="past-due-banner"');
    expect(projectPage).toContain('href="/organizations/acme/billing"');
    t.clock.advance(8 * 24 * 3600 * 1000);
    await runJob(
      { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
      enforceBillingGraceJob,
      'test',
    );
    const resource = () =>
      t.database.db
        .selectFrom('ktrlplane.resources')
        .selectAll()
        .where('resource_id', '=', 'g')
        .executeTakeFirstOrThrow();
    expect(await resource()).toMatchObject({ deployment_state: 'suspended', status: 'Suspended' });
    // Back to the wall clock, which Stripe signs its webhooks with.
    t.clock.set(new Date());
    const deploy = await t.app.request('/resources/g/deploy', { method: 'POST', headers: asJson(ada) });
    expect(deploy.status).toBe(402);
    const invoices = await stripe().invoices.list({ customer: (await account())?.stripe_customer_id ?? '' });
    const open = invoices.data.find((invoice) => invoice.status === 'open');
    await control.trigger('invoice.paid', { invoice: open?.id ?? '' });
    await settle();
    expect(await account()).toMatchObject({ past_due_since: null, suspended_at: null });
    expect(await resource()).toMatchObject({ deployment_state: 'deployed', status: 'Deploying' });
    const after = await (await t.app.request('/projects/web', { headers: as(ada) })).text();
    expect(after).not.toContain('data-testid="past-due-banner"');
  });

  it('heals a missed webhook: the daily reconciliation job re-reads every customer', async () => {
    const { ada } = await setup();
    await control.pauseWebhooks();
    await subscribe(ada);
    expect((await account())?.plan).toBe('free');
    const outcome = await runJob(
      { db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config },
      reconcileBillingJob,
      'test',
    );
    expect(outcome).toMatchObject({ outcome: 'succeeded', detail: 'synced 1 accounts, 0 failed' });
    expect((await account())?.plan).toBe('standard');
    // The same convergence is a plain function for the webhook path.
    await syncAccountFromStripe(
      t.database.db,
      stripe(),
      { scope_type: 'organization', scope_id: 'acme' },
      t.clock.now(),
    );
    expect((await account())?.plan).toBe('standard');
  });

  it('opens the customer portal for billing managers only', async () => {
    const { ada } = await setup();
    await subscribe(ada);
    const portal = await t.app.request('/organizations/acme/billing/portal', {
      method: 'POST',
      headers: asJson(ada),
    });
    expect(portal.status).toBe(201);
    expect(((await portal.json()) as { url: string }).url.startsWith(stripeLocal.url)).toBe(true);
    const vic = await signUpUser(t, 'vic@example.com');
    await grant(t, vic, ROLE.viewer, 'organization', 'acme');
    expect((await t.app.request('/organizations/acme/billing', { headers: asJson(vic) })).status).toBe(200);
    for (const path of ['portal', 'checkout', 'cancel', 'resume', 'change']) {
      const res = await t.app.request(`/organizations/acme/billing/${path}`, {
        method: 'POST',
        headers: asJson(vic),
        body: JSON.stringify({ plan: 'premium' }),
      });
      expect(res.status, path).toBe(403);
    }
  });
});

describe('billing off', () => {
  const t = useTestApp({ PLAN_WITHOUT_BILLING: 'free' });

  it('says billing is not configured, refuses writes with 409, and holds everyone to the free plan', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    const page = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(page).toContain('data-testid="billing-off"');
    const checkout = await t.app.request('/organizations/acme/billing/checkout', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ plan: 'standard' }),
    });
    expect(checkout.status).toBe(409);
    await createProjectFor(t, ada, 'acme', 'One', 'one');
    await createProjectFor(t, ada, 'acme', 'Two', 'two');
    const third = await t.app.request('/organizations/acme/projects', {
      method: 'POST',
      headers: asJson(ada),
      body: JSON.stringify({ name: 'Three', project_id: 'three' }),
    });
    expect(third.status).toBe(403);
    expect(await third.json()).toMatchObject({ limit: 'projects', allowed: 2 });
  });

  it('lets no parallel creates past the resource limit', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.app.request('/projects/web/resources', {
          method: 'POST',
          headers: asJson(ada),
          body: JSON.stringify({ resource_id: `f${i}`, name: `F${i}`, type: 'Konnektr.Flows', sku: 'free' }),
        }),
      ),
    );
    const statuses = results.map((res) => res.status).sort();
    expect(statuses).toEqual([201, 201, 201, 403, 403, 403]);
    const count = await t.database.db.selectFrom('ktrlplane.resources').select('resource_id').execute();
    expect(count).toHaveLength(3);
  });
});
