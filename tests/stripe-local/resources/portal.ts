import type Stripe from 'stripe';
import type { ApiRouter } from '../router.ts';
import type { Store } from '../store.ts';
import { newId } from '../store.ts';
import { invalidRequest, missingParam } from '../wire.ts';
import { findCustomer } from './customers.ts';
import { findSubscription } from './subscriptions.ts';

/**
 * Billing portal sessions: `url` is a page on this server (`/p/session/:id`) where the customer
 * cancels at period end or at once, resumes, changes plan, fixes a failing card and sees
 * invoices; every change goes through the same subscription engine and sends its webhooks.
 */

export function registerPortal(router: ApiRouter, store: Store, baseUrl: () => string): void {
  router.add('POST', '/v1/billing_portal/sessions', ({ params }) => {
    params
      .allow([
        'customer',
        'return_url',
        'configuration',
        'flow_data',
        'locale',
        'on_behalf_of',
        'customer_account',
      ])
      .refuse(['on_behalf_of', 'customer_account']);
    const customer = findCustomer(store, params.string('customer') ?? throwMissing('customer'), 'customer');
    const flowData = params.object('flow_data');
    let flow: Stripe.BillingPortal.Session.Flow | null = null;
    if (flowData) {
      flowData.allow([
        'type',
        'after_completion',
        'subscription_cancel',
        'subscription_update',
        'subscription_update_confirm',
        'subscription_pause',
      ]);
      const type = flowData.oneOf('type', [
        'payment_method_update',
        'subscription_cancel',
        'subscription_update',
        'subscription_update_confirm',
      ] as const);
      if (!type) throw missingParam('flow_data[type]');
      const after = flowData.object('after_completion');
      after?.allow(['type', 'redirect', 'hosted_confirmation']);
      const afterType =
        after?.oneOf('type', ['hosted_confirmation', 'portal_homepage', 'redirect'] as const) ??
        'portal_homepage';
      const redirectTo = after?.object('redirect')?.string('return_url');
      if (afterType === 'redirect' && !redirectTo)
        throw missingParam('flow_data[after_completion][redirect][return_url]');
      const subscriptionOf = (key: string): string => {
        const section = flowData.object(key);
        if (!section) throw missingParam(flowData.path(key));
        const id = section.string('subscription') ?? throwMissing(`${flowData.path(key)}[subscription]`);
        const subscription = findSubscription(store, id, `${flowData.path(key)}[subscription]`);
        if (subscription.customer !== customer.id) {
          throw invalidRequest(
            'The subscription does not belong to this customer.',
            `${flowData.path(key)}[subscription]`,
          );
        }
        return subscription.id;
      };
      let confirm: Stripe.BillingPortal.Session.Flow.SubscriptionUpdateConfirm | null = null;
      if (type === 'subscription_update_confirm') {
        const section = flowData.object('subscription_update_confirm');
        section?.allow(['subscription', 'items', 'discounts']);
        confirm = {
          discounts: null,
          items: (section?.objects('items') ?? []).map((item) => {
            item.allow(['id', 'price', 'quantity']);
            const quantity = item.integer('quantity');
            return {
              id: item.string('id') ?? null,
              price: item.string('price') ?? null,
              ...(quantity !== undefined ? { quantity } : {}),
            };
          }),
          subscription: subscriptionOf('subscription_update_confirm'),
        };
      }
      flow = {
        after_completion: {
          hosted_confirmation: afterType === 'hosted_confirmation' ? { custom_message: null } : null,
          redirect: redirectTo ? { return_url: redirectTo } : null,
          type: afterType,
        },
        customer_update: null,
        subscription_cancel:
          type === 'subscription_cancel'
            ? { retention: null, subscription: subscriptionOf('subscription_cancel') }
            : null,
        subscription_pause: null,
        subscription_update:
          type === 'subscription_update' ? { subscription: subscriptionOf('subscription_update') } : null,
        subscription_update_confirm: confirm,
        type,
      };
    }
    const id = newId('bps');
    const session: Stripe.BillingPortal.Session = {
      id,
      object: 'billing_portal.session',
      configuration: params.string('configuration') ?? 'bpc_stripelocal_default',
      created: store.now(),
      customer: customer.id,
      customer_account: null,
      flow,
      livemode: false,
      locale: (params.string('locale') as Stripe.BillingPortal.Session.Locale | undefined) ?? null,
      on_behalf_of: null,
      return_url: params.string('return_url') ?? null,
      url: `${baseUrl()}/p/session/${id}`,
    };
    store.portalSessions.set(id, session);
    return session;
  });
}

function throwMissing(param: string): never {
  throw missingParam(param);
}
