import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst, newId, previousAttributes } from '../store.ts';
import type { ParamReader } from '../wire.ts';
import { invalidRequest, listPage, mergeMetadata, resourceMissing, toJson } from '../wire.ts';

/** Customers: create (idempotently, through the router), retrieve, update, delete, list, search. */

export interface CustomerInput {
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  metadata?: Stripe.Metadata;
  address?: Stripe.Address | null;
  preferred_locales?: string[];
}

export function createCustomer(store: Store, input: CustomerInput): Stripe.Customer {
  const customer: Stripe.Customer = {
    id: newId('cus', 14),
    object: 'customer',
    address: input.address ?? null,
    balance: 0,
    created: store.now(),
    currency: null,
    default_source: null,
    delinquent: false,
    description: input.description ?? null,
    discount: null,
    email: input.email ?? null,
    invoice_prefix: newId('x', 8).slice(2).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: input.metadata ?? {},
    name: input.name ?? null,
    next_invoice_sequence: 1,
    phone: input.phone ?? null,
    preferred_locales: input.preferred_locales ?? [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  store.customers.set(customer.id, customer);
  store.stateOfCustomer(customer.id);
  store.emit('customer.created', customer);
  return customer;
}

/**
 * The test card (Visa 4242, expiring in three years) a checkout page payment leaves on the
 * customer, made its default for invoices — as Stripe Checkout does in subscription mode.
 */
export function attachTestCard(store: Store, customer: Stripe.Customer): Stripe.PaymentMethod {
  const expires = new Date(store.now() * 1000);
  const method = {
    id: newId('pm'),
    object: 'payment_method',
    type: 'card',
    customer: customer.id,
    created: store.now(),
    livemode: false,
    metadata: {},
    billing_details: {
      address: null,
      email: customer.email,
      name: customer.name ?? null,
      phone: null,
      tax_id: null,
    },
    card: {
      brand: 'visa',
      display_brand: 'visa',
      last4: '4242',
      exp_month: expires.getUTCMonth() + 1,
      exp_year: expires.getUTCFullYear() + 3,
      country: 'US',
      funding: 'credit',
    },
  } as unknown as Stripe.PaymentMethod;
  store.paymentMethods.set(method.id, method);
  // Set quietly: the checkout's own events already tell ktrlplane to re-read the customer.
  customer.invoice_settings = { ...customer.invoice_settings, default_payment_method: method.id };
  return method;
}

export function findCustomer(store: Store, id: string, param = 'id'): Stripe.Customer {
  const customer = store.customer(id);
  if (!customer) throw resourceMissing('customer', id, param);
  return customer;
}

/** Applies changes and emits `customer.updated` with `previous_attributes` when anything changed. */
export function updateCustomer(
  store: Store,
  customer: Stripe.Customer,
  change: (customer: Stripe.Customer) => void,
): void {
  const before = toJson(customer);
  change(customer);
  const changed = previousAttributes(before, customer);
  if (Object.keys(changed).length > 0) store.emit('customer.updated', customer, changed);
}

const WRITABLE = [
  'email',
  'name',
  'description',
  'phone',
  'metadata',
  'address',
  'preferred_locales',
] as const;
const REFUSED = [
  'payment_method',
  'source',
  'test_clock',
  'tax_id_data',
  'coupon',
  'promotion_code',
  'cash_balance',
  'tax',
  'shipping',
  'invoice_settings',
  'tax_exempt',
  'invoice_prefix',
];

function readAddress(params: ParamReader): Stripe.Address | null | undefined {
  if (!params.has('address')) return undefined;
  if (params.string('address') === '') return null;
  const address = params.object('address');
  if (!address) return undefined;
  address.allow(['city', 'country', 'line1', 'line2', 'postal_code', 'state']);
  return {
    city: address.string('city') ?? null,
    country: address.string('country') ?? null,
    line1: address.string('line1') ?? null,
    line2: address.string('line2') ?? null,
    postal_code: address.string('postal_code') ?? null,
    state: address.string('state') ?? null,
  };
}

function nullable(params: ParamReader, key: string): string | null | undefined {
  if (!params.has(key)) return undefined;
  return params.string(key) || null;
}

export function registerCustomers(router: ApiRouter, store: Store, billing: Billing): void {
  router.add('POST', '/v1/customers', ({ params }) => {
    params.allow([...WRITABLE, ...REFUSED]).refuse(REFUSED);
    const address = readAddress(params);
    return createCustomer(store, {
      email: nullable(params, 'email') ?? null,
      name: nullable(params, 'name') ?? null,
      description: nullable(params, 'description') ?? null,
      phone: nullable(params, 'phone') ?? null,
      metadata: mergeMetadata({}, params.metadata()),
      ...(address !== undefined ? { address } : {}),
      preferred_locales: params.strings('preferred_locales'),
    });
  });

  router.add('GET', '/v1/customers/search', ({ params }) => {
    params.allow(['query', 'limit', 'page']);
    const matches = parseSearch(params.requiredString('query'));
    const limit = params.integer('limit') ?? 10;
    const found = newestFirst(store.customers.values()).filter(
      (customer): customer is Stripe.Customer => !customer.deleted && matches(customer),
    );
    const result: Stripe.ApiSearchResult<Stripe.Customer> = {
      object: 'search_result',
      data: found.slice(0, limit),
      has_more: found.length > limit,
      next_page: null,
      url: '/v1/customers/search',
    };
    return result;
  });

  router.add('GET', '/v1/payment_methods/:id', ({ pathParams }) => {
    const id = pathParams.id ?? '';
    const method = store.paymentMethods.get(id);
    if (!method) throw resourceMissing('payment_method', id);
    return method;
  });

  router.add('GET', '/v1/customers/:id', ({ pathParams }) => {
    const id = pathParams.id ?? '';
    const customer = store.customers.get(id);
    if (!customer) throw resourceMissing('customer', id);
    return customer;
  });

  router.add('POST', '/v1/customers/:id', ({ pathParams, params }) => {
    params.allow([...WRITABLE, 'balance', ...REFUSED]).refuse(REFUSED);
    const customer = findCustomer(store, pathParams.id ?? '');
    const address = readAddress(params);
    updateCustomer(store, customer, (target) => {
      const email = nullable(params, 'email');
      if (email !== undefined) target.email = email;
      const name = nullable(params, 'name');
      if (name !== undefined) target.name = name;
      const description = nullable(params, 'description');
      if (description !== undefined) target.description = description;
      const phone = nullable(params, 'phone');
      if (phone !== undefined) target.phone = phone;
      if (address !== undefined) target.address = address;
      if (params.has('preferred_locales')) target.preferred_locales = params.strings('preferred_locales');
      const balance = params.integer('balance');
      if (balance !== undefined) target.balance = balance;
      target.metadata = mergeMetadata(target.metadata, params.metadata());
    });
    return customer;
  });

  router.add('DELETE', '/v1/customers/:id', ({ pathParams }) => {
    const customer = findCustomer(store, pathParams.id ?? '');
    // Deleting a customer cancels its subscriptions at once, as Stripe does.
    for (const subscription of store.subscriptions.values()) {
      if (subscription.customer === customer.id && subscription.status !== 'canceled') {
        billing.cancelNow(subscription, { invoiceNow: false, prorate: false });
      }
    }
    const deleted: Stripe.DeletedCustomer = { id: customer.id, object: 'customer', deleted: true };
    store.customers.set(customer.id, deleted);
    store.emit('customer.deleted', customer);
    return deleted;
  });

  router.add('GET', '/v1/customers', ({ params }) => {
    params.allow(['email', 'created', 'limit', 'starting_after', 'ending_before', 'test_clock']);
    const email = params.string('email');
    const created = params.range('created');
    const customers = newestFirst(store.customers.values()).filter(
      (customer): customer is Stripe.Customer =>
        !customer.deleted &&
        // Stripe's email filter is an exact, case-sensitive match.
        (email === undefined || customer.email === email) &&
        (!created || created(customer.created)),
    );
    return listPage(customers, params, '/v1/customers');
  });
}

/**
 * A small part of Stripe's search language: `email:'x'`, `name:'x'`, `metadata['k']:'v'`,
 * joined with AND. Unlike Stripe's search (eventually consistent, up to a minute late), results
 * here are immediate.
 */
function parseSearch(query: string): (customer: Stripe.Customer) => boolean {
  const clauses = query.split(/\s+AND\s+/i).map((clause) => clause.trim());
  const tests = clauses.map((clause) => {
    const metadata = /^metadata\[['"](.+?)['"]\]:['"](.*)['"]$/.exec(clause);
    if (metadata) {
      const [, key = '', value] = metadata;
      return (customer: Stripe.Customer) => customer.metadata[key] === value;
    }
    const field = /^(email|name|phone|description):['"](.*)['"]$/.exec(clause);
    if (field) {
      const [, name = '', value] = field;
      return (customer: Stripe.Customer) =>
        (customer[name as 'email' | 'name' | 'phone' | 'description'] ?? null) === value;
    }
    throw invalidRequest(
      `stripe-local supports only email:'…', name:'…', phone:'…', description:'…' and metadata['key']:'…' clauses joined with AND (got: ${clause}).`,
      'query',
    );
  });
  return (customer) => tests.every((test) => test(customer));
}
