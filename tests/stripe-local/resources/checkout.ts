import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst, newId } from '../store.ts';
import { invalidRequest, listPage, mergeMetadata, missingParam, resourceMissing } from '../wire.ts';
import { amountFor, findPrice, isMetered, productName } from './catalog.ts';
import { attachTestCard, createCustomer, findCustomer } from './customers.ts';

/**
 * Checkout Sessions in `subscription` mode. The session's `url` is a page on this server
 * (`/c/pay/:id`); paying there (or `POST /_control/checkout/sessions/:id/complete`) creates the
 * customer if needed, the subscription and its paid first invoice, completes the session and
 * redirects to `success_url` with `{CHECKOUT_SESSION_ID}` filled in.
 */

/** What `subscription_data` asked for; Stripe does not echo it on the session. */
export interface CheckoutExtras {
  subscriptionMetadata: Stripe.Metadata;
  subscriptionDescription: string | null;
}

/** A declined card on the checkout page: the session stays open, nothing is created. */
export class PaymentDeclined extends Error {}

/** Parameters Stripe accepts that change nothing this server models (cosmetic or payment-method UI). */
const ACCEPTED_COSMETIC = [
  'allow_promotion_codes',
  'billing_address_collection',
  'customer_update',
  'locale',
  'payment_method_types',
  'payment_method_collection',
  'consent_collection',
  'custom_text',
  'phone_number_collection',
  'submit_type',
  'saved_payment_method_options',
  'branding_settings',
  'ui_mode',
  'automatic_tax',
  'tax_id_collection',
];
const REFUSED = [
  'discounts',
  'custom_fields',
  'shipping_address_collection',
  'shipping_options',
  'payment_intent_data',
  'setup_intent_data',
  'invoice_creation',
  'customer_creation',
  'optional_items',
  'return_url',
  'redirect_on_completion',
  'adaptive_pricing',
  'after_expiration',
];

export function registerCheckout(
  router: ApiRouter,
  store: Store,
  extras: Map<string, CheckoutExtras>,
  baseUrl: () => string,
): void {
  router.add('POST', '/v1/checkout/sessions', ({ params }) => {
    params
      .allow([
        'mode',
        'line_items',
        'customer',
        'customer_email',
        'success_url',
        'cancel_url',
        'client_reference_id',
        'metadata',
        'subscription_data',
        'expires_at',
        'currency',
        ...ACCEPTED_COSMETIC,
        ...REFUSED,
      ])
      .refuse(REFUSED);
    const mode = params.oneOf('mode', ['payment', 'setup', 'subscription'] as const);
    if (!mode) throw missingParam('mode');
    if (mode !== 'subscription') {
      throw invalidRequest(`stripe-local supports only mode=subscription (got ${mode}).`, 'mode');
    }
    const uiMode = params.string('ui_mode');
    if (uiMode && uiMode !== 'hosted' && uiMode !== 'hosted_page') {
      throw invalidRequest(`stripe-local supports only the hosted page (ui_mode ${uiMode}).`, 'ui_mode');
    }
    if (params.object('automatic_tax')?.boolean('enabled')) {
      throw invalidRequest(
        'stripe-local does not compute taxes (automatic_tax[enabled]=true).',
        'automatic_tax[enabled]',
      );
    }
    const customerId = params.string('customer');
    const customerEmail = params.string('customer_email');
    if (customerId && customerEmail) {
      throw invalidRequest('You may only specify one of these parameters: customer, customer_email.');
    }
    const customer = customerId ? findCustomer(store, customerId, 'customer') : null;
    const lineParams = params.objects('line_items');
    if (lineParams.length === 0) {
      throw invalidRequest(
        'Missing required param: line_items (a subscription-mode session needs at least one).',
        'line_items',
        'parameter_missing',
      );
    }
    const now = store.now();
    const lineItems: Stripe.LineItem[] = lineParams.map((line) => {
      line.allow([
        'price',
        'quantity',
        'price_data',
        'adjustable_quantity',
        'tax_rates',
        'dynamic_tax_rates',
        'metadata',
      ]);
      line.refuse(['price_data', 'adjustable_quantity', 'tax_rates', 'dynamic_tax_rates']);
      const price = findPrice(store, line.requiredString('price'), line.path('price'));
      if (!price.active) {
        throw invalidRequest(
          'The price specified is inactive. This field only accepts active prices.',
          line.path('price'),
        );
      }
      if (!price.recurring) {
        throw invalidRequest(
          'stripe-local supports only recurring prices in subscription mode.',
          line.path('price'),
        );
      }
      const quantity = line.integer('quantity');
      if (isMetered(price) && quantity !== undefined) {
        throw invalidRequest(
          `Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`${line.prefix}\`.`,
          line.path('quantity'),
        );
      }
      if (!isMetered(price) && quantity === undefined) {
        throw invalidRequest(
          `Quantity is required. Add \`quantity\` to \`${line.prefix}\``,
          line.path('quantity'),
          'parameter_missing',
        );
      }
      if (quantity !== undefined && quantity < 1) {
        throw invalidRequest('Quantity must be greater than 0.', line.path('quantity'));
      }
      const amount = isMetered(price) ? 0 : amountFor(price, quantity ?? 1);
      return {
        id: newId('li'),
        object: 'item',
        adjustable_quantity: null,
        amount_discount: 0,
        amount_subtotal: amount,
        amount_tax: 0,
        amount_total: amount,
        currency: price.currency,
        description: productName(store, price),
        metadata: mergeMetadata({}, line.metadata()),
        price,
        quantity: quantity ?? null,
      };
    });
    const first = lineItems[0]?.price;
    for (const item of lineItems) {
      const recurring = item.price?.recurring;
      if (
        item.price?.currency !== first?.currency ||
        recurring?.interval !== first?.recurring?.interval ||
        recurring?.interval_count !== first?.recurring?.interval_count
      ) {
        throw invalidRequest(
          'Checkout does not support multiple prices with different billing intervals or currencies.',
          'line_items',
        );
      }
    }
    const expiresAt = params.integer('expires_at') ?? now + 24 * 60 * 60;
    if (expiresAt < now + 30 * 60 || expiresAt > now + 24 * 60 * 60) {
      throw invalidRequest(
        'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.',
        'expires_at',
      );
    }
    const subscriptionData = params.object('subscription_data');
    subscriptionData
      ?.allow([
        'metadata',
        'description',
        'proration_behavior',
        'trial_period_days',
        'trial_end',
        'billing_cycle_anchor',
        'default_tax_rates',
        'application_fee_percent',
        'on_behalf_of',
        'transfer_data',
        'trial_settings',
        'invoice_settings',
      ])
      .refuse([
        'trial_period_days',
        'trial_end',
        'billing_cycle_anchor',
        'default_tax_rates',
        'application_fee_percent',
        'on_behalf_of',
        'transfer_data',
        'trial_settings',
        'invoice_settings',
      ]);
    const subtotal = lineItems.reduce((sum, item) => sum + item.amount_total, 0);
    const id = newId('cs_test', 58);
    const session: Stripe.Checkout.Session = {
      id,
      object: 'checkout.session',
      adaptive_pricing: null,
      after_expiration: null,
      allow_promotion_codes: params.boolean('allow_promotion_codes') ?? null,
      allowed_payment_method_types: null,
      amount_subtotal: subtotal,
      amount_total: subtotal,
      automatic_tax: { enabled: false, liability: null, provider: null, status: null },
      billing_address_collection:
        params.oneOf('billing_address_collection', ['auto', 'required'] as const) ?? null,
      cancel_url: params.string('cancel_url') ?? null,
      client_reference_id: params.string('client_reference_id') ?? null,
      client_secret: null,
      collected_information: null,
      consent: null,
      consent_collection: null,
      created: now,
      currency: first?.currency ?? null,
      currency_conversion: null,
      custom_fields: [],
      custom_text: {
        after_submit: null,
        shipping_address: null,
        submit: null,
        terms_of_service_acceptance: null,
      },
      customer: customer?.id ?? null,
      customer_account: null,
      customer_creation: customer ? null : 'always',
      customer_details: customer
        ? {
            address: customer.address ?? null,
            business_name: null,
            email: customer.email,
            individual_name: null,
            name: customer.name ?? null,
            phone: customer.phone ?? null,
            tax_exempt: 'none',
            tax_ids: [],
          }
        : null,
      customer_email: customerEmail ?? null,
      discounts: [],
      expires_at: expiresAt,
      integration_identifier: null,
      invoice: null,
      invoice_creation: null,
      livemode: false,
      locale: (params.string('locale') as Stripe.Checkout.Session.Locale | undefined) ?? null,
      managed_payments: null,
      metadata: mergeMetadata({}, params.metadata()),
      mode: 'subscription',
      origin_context: null,
      payment_intent: null,
      payment_link: null,
      payment_method_collection: 'always',
      payment_method_configuration_details: null,
      payment_method_options: {},
      payment_method_types: ['card'],
      payment_status: 'unpaid',
      permissions: null,
      phone_number_collection: { enabled: false },
      recovered_from: null,
      saved_payment_method_options: null,
      setup_intent: null,
      shipping_address_collection: null,
      shipping_cost: null,
      shipping_options: [],
      status: 'open',
      submit_type: null,
      subscription: null,
      success_url: params.string('success_url') ?? null,
      total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
      ui_mode: 'hosted_page',
      url: `${baseUrl()}/c/pay/${id}`,
      wallet_options: null,
    };
    store.checkoutSessions.set(id, session);
    store.checkoutLineItems.set(id, lineItems);
    extras.set(id, {
      subscriptionMetadata: mergeMetadata({}, subscriptionData?.metadata()),
      subscriptionDescription: subscriptionData?.string('description') ?? null,
    });
    return session;
  });

  router.add('GET', '/v1/checkout/sessions/:id', ({ pathParams }) => findSession(store, pathParams.id ?? ''));

  router.add('GET', '/v1/checkout/sessions/:id/line_items', ({ pathParams, params }) => {
    params.allow(['limit', 'starting_after', 'ending_before']);
    const session = findSession(store, pathParams.id ?? '');
    return listPage(
      store.checkoutLineItems.get(session.id) ?? [],
      params,
      `/v1/checkout/sessions/${session.id}/line_items`,
    );
  });

  router.add('POST', '/v1/checkout/sessions/:id/expire', ({ pathParams, params }) => {
    params.allow([]);
    const session = findSession(store, pathParams.id ?? '');
    if (session.status !== 'open') {
      throw invalidRequest(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
      );
    }
    expireSession(store, session);
    return session;
  });

  router.add('GET', '/v1/checkout/sessions', ({ params }) => {
    params.allow([
      'customer',
      'subscription',
      'status',
      'created',
      'limit',
      'starting_after',
      'ending_before',
      'payment_intent',
    ]);
    const customer = params.string('customer');
    const subscription = params.string('subscription');
    const status = params.oneOf('status', ['open', 'complete', 'expired'] as const);
    const created = params.range('created');
    const sessions = newestFirst(store.checkoutSessions.values()).filter(
      (session) =>
        (!customer || session.customer === customer) &&
        (!subscription || session.subscription === subscription) &&
        (!status || session.status === status) &&
        (!created || created(session.created)),
    );
    return listPage(sessions, params, '/v1/checkout/sessions');
  });
}

export function findSession(store: Store, id: string): Stripe.Checkout.Session {
  const session = store.checkoutSessions.get(id);
  if (!session) throw resourceMissing('checkout.session', id);
  return session;
}

export function expireSession(store: Store, session: Stripe.Checkout.Session): void {
  session.status = 'expired';
  session.url = null;
  store.emit('checkout.session.expired', session);
}

/** Where the browser goes after paying: `success_url` with the session id filled in. */
export function successRedirect(session: Stripe.Checkout.Session, baseUrl: string): string {
  if (!session.success_url) return `${baseUrl}/c/pay/${session.id}`;
  return session.success_url.replaceAll('{CHECKOUT_SESSION_ID}', session.id);
}

/**
 * Pays an open session: customer (created when the session had none), subscription with its
 * paid first invoice, then `checkout.session.completed`. A session already complete answers its
 * redirect again (a double-clicked Pay button must not subscribe twice).
 */
export function completeSession(
  store: Store,
  billing: Billing,
  extras: Map<string, CheckoutExtras>,
  session: Stripe.Checkout.Session,
  input: { email?: string; name?: string; card?: 'succeed' | 'decline' },
): void {
  if (session.status === 'complete') return;
  if (session.status !== 'open') throw invalidRequest('This Checkout Session is no longer active.');
  if (input.card === 'decline') throw new PaymentDeclined('Your card was declined.');
  let customer = session.customer ? store.customer(String(session.customer)) : undefined;
  const email = customer?.email ?? session.customer_email ?? input.email?.trim() ?? '';
  if (!customer && !email) throw invalidRequest('An email address is required.', 'email');
  if (!customer) {
    customer = createCustomer(store, { email, name: input.name?.trim() || null });
  }
  // The card entered on the page is the customer's card from now on.
  store.stateOfCustomer(customer.id).paymentOutcome = 'succeed';
  attachTestCard(store, customer);
  const lineItems = store.checkoutLineItems.get(session.id) ?? [];
  const extra = extras.get(session.id);
  const { subscription, invoice } = billing.createSubscription({
    customer,
    items: lineItems.flatMap((item) =>
      item.price
        ? [{ price: item.price, ...(item.quantity !== null ? { quantity: item.quantity } : {}) }]
        : [],
    ),
    metadata: extra?.subscriptionMetadata ?? {},
    description: extra?.subscriptionDescription ?? null,
  });
  session.status = 'complete';
  session.payment_status = 'paid';
  session.customer = customer.id;
  session.customer_details = {
    address: customer.address ?? null,
    business_name: null,
    email: customer.email,
    individual_name: null,
    name: customer.name ?? null,
    phone: customer.phone ?? null,
    tax_exempt: 'none',
    tax_ids: [],
  };
  session.subscription = subscription.id;
  session.invoice = invoice.id;
  session.url = null;
  store.emit('checkout.session.completed', session);
}
