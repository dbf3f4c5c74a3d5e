import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import { customerIdOf, subscriptionIdOfInvoice } from '../billing.ts';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst } from '../store.ts';
import { invalidRequest, listPage, resourceMissing } from '../wire.ts';
import { findPrice } from './catalog.ts';
import { findCustomer } from './customers.ts';
import { findSubscription, readItemChanges, readProrationBehavior } from './subscriptions.ts';

/** Invoices: retrieve, list, their lines, `pay`, and `create_preview` (the upcoming invoice). */

export function findInvoice(store: Store, id: string, param = 'id'): Stripe.Invoice {
  const invoice = store.invoices.get(id);
  if (!invoice) throw resourceMissing('invoice', id, param);
  return invoice;
}

export function registerInvoices(router: ApiRouter, store: Store, billing: Billing): void {
  router.add('GET', '/v1/invoices/:id', ({ pathParams }) => findInvoice(store, pathParams.id ?? ''));

  router.add('GET', '/v1/invoices/:id/lines', ({ pathParams, params }) => {
    params.allow(['limit', 'starting_after', 'ending_before']);
    const invoice = findInvoice(store, pathParams.id ?? '');
    return listPage(invoice.lines.data, params, `/v1/invoices/${invoice.id}/lines`);
  });

  router.add('GET', '/v1/invoices', ({ params }) => {
    params.allow([
      'customer',
      'subscription',
      'status',
      'created',
      'due_date',
      'collection_method',
      'limit',
      'starting_after',
      'ending_before',
    ]);
    const customer = params.string('customer');
    const subscription = params.string('subscription');
    const status = params.oneOf('status', ['draft', 'open', 'paid', 'uncollectible', 'void'] as const);
    const created = params.range('created');
    const invoices = newestFirst(store.invoices.values()).filter(
      (invoice) =>
        (!customer || customerIdOf(invoice.customer) === customer) &&
        (!subscription || subscriptionIdOfInvoice(invoice) === subscription) &&
        (!status || invoice.status === status) &&
        (!created || created(invoice.created)),
    );
    return listPage(invoices, params, '/v1/invoices');
  });

  router.add('POST', '/v1/invoices/:id/pay', ({ pathParams, params }) => {
    params
      .allow(['off_session', 'payment_method', 'forgive', 'paid_out_of_band', 'mandate', 'source'])
      .refuse(['payment_method', 'forgive', 'paid_out_of_band', 'mandate', 'source']);
    return billing.pay(findInvoice(store, pathParams.id ?? ''));
  });

  router.add('POST', '/v1/invoices/create_preview', ({ params }) => {
    const refused = [
      'invoice_items',
      'schedule',
      'schedule_details',
      'discounts',
      'customer_details',
      'issuer',
      'on_behalf_of',
      'customer_account',
    ];
    params
      .allow([
        'customer',
        'subscription',
        'subscription_details',
        'automatic_tax',
        'currency',
        'preview_mode',
        ...refused,
      ])
      .refuse(refused);
    if (params.object('automatic_tax')?.boolean('enabled')) {
      throw invalidRequest(
        'stripe-local does not compute taxes (automatic_tax[enabled]=true).',
        'automatic_tax[enabled]',
      );
    }
    params.oneOf('preview_mode', ['next'] as const);
    const details = params.object('subscription_details');
    const refusedDetails = [
      'cancel_now',
      'billing_cycle_anchor',
      'trial_end',
      'start_date',
      'resume_at',
      'cancel_at',
      'default_tax_rates',
      'billing_mode',
      'billing_schedules',
      'pause',
    ];
    details
      ?.allow([
        'items',
        'proration_behavior',
        'proration_date',
        'cancel_at_period_end',
        'metadata',
        ...refusedDetails,
      ])
      .refuse(refusedDetails);
    const subscriptionId = params.string('subscription');
    const subscription = subscriptionId ? findSubscription(store, subscriptionId, 'subscription') : null;
    const customerParam = params.string('customer');
    const customerId = subscription ? customerIdOf(subscription.customer) : customerParam;
    if (!customerId) {
      throw invalidRequest(
        'Missing required param: customer (or subscription).',
        'customer',
        'parameter_missing',
      );
    }
    if (subscription && customerParam && customerParam !== customerId) {
      throw invalidRequest(
        `The subscription ${subscription.id} does not belong to the customer ${customerParam}.`,
        'customer',
      );
    }
    const customer = findCustomer(store, customerId, 'customer');
    const changes = details ? readItemChanges(details, 'items') : [];
    const cancelAtPeriodEnd = details?.boolean('cancel_at_period_end');
    return billing.preview({
      customer,
      subscription,
      changes: subscription ? changes : [],
      behavior: (details && readProrationBehavior(details)) ?? 'create_prorations',
      prorationDate: details?.integer('proration_date') ?? store.now(),
      cancelAtPeriodEnd,
      newItems: subscription
        ? []
        : changes.map((change) => {
            if (!change.price)
              throw invalidRequest(
                `Missing required param: ${change.param}[price].`,
                `${change.param}[price]`,
              );
            return {
              price: findPrice(store, change.price, `${change.param}[price]`),
              ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
            };
          }),
    });
  });
}
