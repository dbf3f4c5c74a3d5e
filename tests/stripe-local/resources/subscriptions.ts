import type Stripe from 'stripe';
import type { Billing, ItemChange, ProrationBehavior } from '../billing.ts';
import { customerIdOf } from '../billing.ts';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newestFirst } from '../store.ts';
import type { ParamReader } from '../wire.ts';
import {
  invalidRequest,
  listPage,
  mergeMetadata,
  missingParam,
  resourceMissing,
  StripeApiError,
} from '../wire.ts';
import { findPrice } from './catalog.ts';
import { findCustomer } from './customers.ts';

/**
 * Subscriptions and their items: retrieve, list, create (for tests that skip Checkout), update
 * (items with proration, cancel at period end and back, metadata) and cancel.
 */

const FEEDBACK = [
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
] as const;

const REFUSED_UPDATE = [
  'cancel_at',
  'trial_end',
  'trial_from_plan',
  'trial_settings',
  'pause_collection',
  'collection_method',
  'discounts',
  'default_tax_rates',
  'automatic_tax',
  'add_invoice_items',
  'default_payment_method',
  'default_source',
  'billing_thresholds',
  'days_until_due',
  'pending_invoice_item_interval',
  'transfer_data',
  'on_behalf_of',
  'application_fee_percent',
  'invoice_settings',
  'payment_settings',
  'billing_mode',
];

export function findSubscription(store: Store, id: string, param = 'id'): Stripe.Subscription {
  const subscription = store.subscriptions.get(id);
  if (!subscription) throw resourceMissing('subscription', id, param);
  return subscription;
}

/** `items[n][id|price|quantity|deleted]` of an update or a preview. */
export function readItemChanges(params: ParamReader, key: string): ItemChange[] {
  return params.objects(key).map((item) => {
    item.allow([
      'id',
      'price',
      'quantity',
      'deleted',
      'clear_usage',
      'metadata',
      'plan',
      'price_data',
      'tax_rates',
      'discounts',
      'billing_thresholds',
    ]);
    item.refuse(['plan', 'price_data', 'tax_rates', 'discounts', 'billing_thresholds']);
    const id = item.string('id');
    const price = item.string('price');
    const quantity = item.integer('quantity');
    if (quantity !== undefined && quantity < 0)
      throw invalidRequest('Quantity must be non-negative.', item.path('quantity'));
    return {
      ...(id ? { id } : {}),
      ...(price ? { price } : {}),
      ...(quantity !== undefined ? { quantity } : {}),
      deleted: item.boolean('deleted') ?? false,
      param: item.prefix,
    };
  });
}

export function readProrationBehavior(
  params: ParamReader,
  key = 'proration_behavior',
): ProrationBehavior | undefined {
  return params.oneOf(key, ['always_invoice', 'create_prorations', 'none'] as const);
}

export function registerSubscriptions(router: ApiRouter, store: Store, billing: Billing): void {
  router.add('GET', '/v1/subscriptions/:id', ({ pathParams }) =>
    findSubscription(store, pathParams.id ?? ''),
  );

  router.add('GET', '/v1/subscriptions', ({ params }) => {
    params.allow([
      'customer',
      'price',
      'status',
      'created',
      'limit',
      'starting_after',
      'ending_before',
      'collection_method',
      'test_clock',
    ]);
    const customer = params.string('customer');
    const price = params.string('price');
    const status = params.oneOf('status', [
      'active',
      'all',
      'canceled',
      'ended',
      'incomplete',
      'incomplete_expired',
      'past_due',
      'paused',
      'trialing',
      'unpaid',
    ] as const);
    const created = params.range('created');
    const subscriptions = newestFirst(store.subscriptions.values()).filter((subscription) => {
      const statusMatches =
        status === 'all' ||
        (status === 'ended'
          ? subscription.status === 'canceled' || subscription.status === 'incomplete_expired'
          : status
            ? subscription.status === status
            : // Without a status filter Stripe lists every subscription that is not canceled.
              subscription.status !== 'canceled');
      return (
        statusMatches &&
        (!customer || customerIdOf(subscription.customer) === customer) &&
        (!price || subscription.items.data.some((item) => item.price.id === price)) &&
        (!created || created(subscription.created))
      );
    });
    return listPage(subscriptions, params, '/v1/subscriptions');
  });

  router.add('POST', '/v1/subscriptions', ({ params }) => {
    params
      .allow([
        'customer',
        'items',
        'metadata',
        'description',
        'payment_behavior',
        'proration_behavior',
        'off_session',
        'collection_method',
        'trial_period_days',
        'trial_end',
        'default_payment_method',
        'coupon',
        'discounts',
        'cancel_at_period_end',
        'billing_cycle_anchor',
        'add_invoice_items',
      ])
      .refuse([
        'collection_method',
        'trial_period_days',
        'trial_end',
        'default_payment_method',
        'coupon',
        'discounts',
        'cancel_at_period_end',
        'billing_cycle_anchor',
        'add_invoice_items',
      ]);
    const customer = findCustomer(store, params.requiredString('customer'), 'customer');
    const items = params.objects('items');
    if (items.length === 0) throw missingParam('items');
    const paymentBehavior = params.oneOf('payment_behavior', [
      'allow_incomplete',
      'default_incomplete',
      'error_if_incomplete',
      'pending_if_incomplete',
    ] as const);
    if (paymentBehavior === 'default_incomplete' || paymentBehavior === 'pending_if_incomplete') {
      throw invalidRequest(
        `stripe-local does not support payment_behavior=${paymentBehavior}.`,
        'payment_behavior',
      );
    }
    if (store.stateOfCustomer(customer.id).paymentOutcome === 'decline') {
      // Stripe would leave an `incomplete` subscription (or fail with error_if_incomplete); here it fails.
      throw new StripeApiError(402, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
      });
    }
    const chosen = items.map((item) => {
      item.allow(['price', 'quantity', 'metadata']);
      const quantity = item.integer('quantity');
      return {
        price: findPrice(store, item.requiredString('price'), item.path('price')),
        ...(quantity !== undefined ? { quantity } : {}),
      };
    });
    const { subscription } = billing.createSubscription({
      customer,
      items: chosen,
      metadata: mergeMetadata({}, params.metadata()),
      description: params.string('description') ?? null,
    });
    return subscription;
  });

  router.add('POST', '/v1/subscriptions/:id', ({ pathParams, params }) => {
    params
      .allow([
        'items',
        'proration_behavior',
        'proration_date',
        'cancel_at_period_end',
        'metadata',
        'description',
        'cancellation_details',
        'payment_behavior',
        'off_session',
        'billing_cycle_anchor',
        ...REFUSED_UPDATE,
      ])
      .refuse(REFUSED_UPDATE);
    params.oneOf('payment_behavior', [
      'allow_incomplete',
      'default_incomplete',
      'error_if_incomplete',
      'pending_if_incomplete',
    ] as const);
    const anchor = params.string('billing_cycle_anchor');
    if (anchor !== undefined && anchor !== 'unchanged') {
      throw invalidRequest(
        'stripe-local supports only billing_cycle_anchor=unchanged.',
        'billing_cycle_anchor',
      );
    }
    const subscription = findSubscription(store, pathParams.id ?? '');
    const details = params.object('cancellation_details');
    details?.allow(['comment', 'feedback']);
    const description = params.has('description') ? params.string('description') || null : undefined;
    const metadata = params.metadata();
    const comment = details?.has('comment') ? details.string('comment') || null : undefined;
    const feedback = details?.has('feedback') ? (details.oneOf('feedback', FEEDBACK) ?? null) : undefined;
    const cancelAtPeriodEnd = params.boolean('cancel_at_period_end');
    billing.applyUpdate(subscription, {
      changes: readItemChanges(params, 'items'),
      behavior: readProrationBehavior(params) ?? 'create_prorations',
      prorationDate: params.integer('proration_date') ?? store.now(),
      ...(cancelAtPeriodEnd !== undefined ? { cancelAtPeriodEnd } : {}),
      ...(metadata !== undefined ? { metadata: mergeMetadata(subscription.metadata, metadata) } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(details
        ? {
            cancellationDetails: {
              ...(comment !== undefined ? { comment } : {}),
              ...(feedback !== undefined ? { feedback } : {}),
            },
          }
        : {}),
    });
    return subscription;
  });

  router.add('DELETE', '/v1/subscriptions/:id', ({ pathParams, params }) => {
    params.allow(['invoice_now', 'prorate', 'cancellation_details']);
    const subscription = findSubscription(store, pathParams.id ?? '');
    const details = params.object('cancellation_details');
    details?.allow(['comment', 'feedback']);
    const feedback = details?.oneOf('feedback', FEEDBACK);
    billing.cancelNow(subscription, {
      invoiceNow: params.boolean('invoice_now') ?? false,
      prorate: params.boolean('prorate') ?? false,
      comment: details?.string('comment') ?? null,
      feedback: feedback ?? null,
    });
    return subscription;
  });

  router.add('GET', '/v1/subscription_items', ({ params }) => {
    params.allow(['subscription', 'limit', 'starting_after', 'ending_before']);
    const subscription = findSubscription(store, params.requiredString('subscription'), 'subscription');
    return listPage(
      subscription.items.data,
      params,
      `/v1/subscription_items?subscription=${subscription.id}`,
    );
  });

  router.add('GET', '/v1/subscription_items/:id', ({ pathParams }) => {
    const item = store.subscriptionItem(pathParams.id ?? '');
    if (!item) throw resourceMissing('subscription_item', pathParams.id ?? '');
    return item;
  });
}
