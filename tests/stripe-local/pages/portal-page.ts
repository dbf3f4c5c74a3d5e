import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import { customerIdOf } from '../billing.ts';
import { formatDate, formatMoney } from '../format.ts';
import { isMetered, productName } from '../resources/catalog.ts';
import type { Store } from '../store.ts';
import { newestFirst } from '../store.ts';
import { StripeApiError } from '../wire.ts';
import { esc, layout, readForm, redirect, sendHtml } from './html.ts';

/**
 * The customer portal a billing portal session's `url` points to. Actions are plain form posts
 * (`action` = cancel | resume | cancel_now | change | fix_payment | set_card), so a test can
 * drive them without a browser; each goes through the subscription engine and sends webhooks.
 */

export interface PortalPageContext {
  store: Store;
  billing: Billing;
}

export async function handlePortalPage(
  context: PortalPageContext,
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string,
  url: URL,
): Promise<void> {
  const { store } = context;
  const session = store.portalSessions.get(sessionId);
  const customer = session ? store.customer(session.customer) : undefined;
  if (!session || !customer) {
    return sendHtml(
      res,
      404,
      layout('Not found', '<p class="error">This portal session does not exist.</p>'),
    );
  }
  if (req.method === 'POST') {
    const form = await readForm(req);
    let message: string;
    try {
      message = store.withRequest(null, () => act(context, customer, form));
    } catch (error) {
      if (error instanceof StripeApiError) {
        return sendHtml(
          res,
          error.status === 402 ? 402 : 400,
          render(context, session, customer, null, error.message),
        );
      }
      throw error;
    }
    const after = session.flow?.after_completion;
    if (after?.type === 'redirect' && after.redirect) return redirect(res, after.redirect.return_url);
    return redirect(res, `/p/session/${session.id}?done=${encodeURIComponent(message)}`);
  }
  sendHtml(res, 200, render(context, session, customer, url.searchParams.get('done'), null));
}

function act(context: PortalPageContext, customer: Stripe.Customer, form: Record<string, string>): string {
  const { store, billing } = context;
  const owned = (): Stripe.Subscription => {
    const subscription = store.subscriptions.get(form.subscription ?? '');
    if (!subscription || customerIdOf(subscription.customer) !== customer.id) {
      throw new StripeApiError(404, { type: 'invalid_request_error', message: 'No such subscription.' });
    }
    return subscription;
  };
  switch (form.action) {
    case 'cancel':
      billing.applyUpdate(owned(), {
        changes: [],
        behavior: 'none',
        prorationDate: store.now(),
        cancelAtPeriodEnd: true,
      });
      return 'Your plan will be canceled at the end of the billing period.';
    case 'resume':
      billing.applyUpdate(owned(), {
        changes: [],
        behavior: 'none',
        prorationDate: store.now(),
        cancelAtPeriodEnd: false,
      });
      return 'Your plan will renew.';
    case 'cancel_now':
      billing.cancelNow(owned(), { invoiceNow: false, prorate: false });
      return 'Your plan was canceled.';
    case 'change': {
      const subscription = owned();
      const item = form.item ?? '';
      const price = form.price ?? '';
      billing.applyUpdate(subscription, {
        changes: [{ id: item, price, param: 'items[0]' }],
        behavior: 'create_prorations',
        prorationDate: store.now(),
      });
      return 'Your plan was changed.';
    }
    case 'set_card': {
      store.stateOfCustomer(customer.id).paymentOutcome = form.card === 'decline' ? 'decline' : 'succeed';
      return 'Your payment method was updated.';
    }
    case 'fix_payment': {
      store.stateOfCustomer(customer.id).paymentOutcome = 'succeed';
      const open = [...store.invoices.values()].filter(
        (invoice) => invoice.status === 'open' && customerIdOf(invoice.customer) === customer.id,
      );
      for (const invoice of open) billing.attemptPayment(invoice, 'manual');
      return open.length > 0
        ? 'Your payment method was updated and open invoices were paid.'
        : 'Your payment method was updated.';
    }
    default:
      throw new StripeApiError(400, {
        type: 'invalid_request_error',
        message: `Unknown action: ${form.action ?? ''}`,
      });
  }
}

function render(
  context: PortalPageContext,
  session: Stripe.BillingPortal.Session,
  customer: Stripe.Customer,
  notice: string | null,
  error: string | null,
): string {
  const { store } = context;
  const subscriptions = newestFirst(store.subscriptions.values()).filter(
    (subscription) =>
      customerIdOf(subscription.customer) === customer.id && subscription.status !== 'canceled',
  );
  const outcome = store.stateOfCustomer(customer.id).paymentOutcome;
  const sections = subscriptions
    .map((subscription) => renderSubscription(context, session, subscription))
    .join('\n');
  const invoices = newestFirst(store.invoices.values())
    .filter((invoice) => customerIdOf(invoice.customer) === customer.id)
    .slice(0, 10)
    .map(
      (invoice) => `<tr>
  <td><a href="/i/${esc(invoice.id)}">${esc(invoice.number ?? invoice.id)}</a></td>
  <td>${esc(formatDate(invoice.created))}</td>
  <td>${esc(invoice.status)}</td>
  <td class="amount">${esc(formatMoney(invoice.total, invoice.currency))}</td>
</tr>`,
    )
    .join('\n');
  return layout(
    'Billing',
    `<h1>Billing</h1>
<p class="muted">${esc(customer.email ?? customer.id)}</p>
${notice ? `<p class="notice" role="status">${esc(notice)}</p>` : ''}
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<h2>Subscriptions</h2>
${sections || '<p class="muted">No active subscriptions.</p>'}
<h2>Payment method</h2>
<section>
  <p>${outcome === 'decline' ? 'Visa •••• 0002 (declines)' : 'Visa •••• 4242'}</p>
  <form method="post" class="inline"><input type="hidden" name="action" value="fix_payment"><button type="submit">Update payment method</button></form>
  <form method="post" class="inline"><input type="hidden" name="action" value="set_card"><input type="hidden" name="card" value="decline"><button type="submit" class="secondary">Use a card that declines</button></form>
</section>
<h2>Invoices</h2>
${invoices ? `<table><thead><tr><th>Number</th><th>Date</th><th>Status</th><th class="amount">Total</th></tr></thead><tbody>${invoices}</tbody></table>` : '<p class="muted">No invoices.</p>'}
${session.return_url ? `<p><a href="${esc(session.return_url)}">← Return</a></p>` : ''}`,
  );
}

function renderSubscription(
  context: PortalPageContext,
  session: Stripe.BillingPortal.Session,
  subscription: Stripe.Subscription,
): string {
  const { store, billing } = context;
  const period = billing.currentPeriod(subscription);
  const items = subscription.items.data
    .map((item) => {
      const unit = item.price.unit_amount ?? Number(String(item.price.unit_amount_decimal ?? '0'));
      const every = item.price.recurring ? ` / ${item.price.recurring.interval}` : '';
      return `<li>${esc(productName(store, item.price))} — ${esc(formatMoney(unit, item.price.currency))}${isMetered(item.price) ? ' per unit' : ''}${esc(every)}${item.quantity && item.quantity > 1 ? ` × ${esc(item.quantity)}` : ''}</li>`;
    })
    .join('');
  const hidden = `<input type="hidden" name="subscription" value="${esc(subscription.id)}">`;
  const licensed = subscription.items.data.find((item) => !isMetered(item.price));
  const recurring = licensed?.price.recurring;
  const alternatives = licensed
    ? [...store.prices.values()].filter(
        (price) =>
          price.active &&
          price.id !== licensed.price.id &&
          price.currency === licensed.price.currency &&
          price.recurring?.usage_type === 'licensed' &&
          price.recurring.interval === recurring?.interval &&
          price.recurring.interval_count === recurring?.interval_count,
      )
    : [];
  const focus = session.flow?.subscription_cancel?.subscription === subscription.id;
  return `<section data-subscription="${esc(subscription.id)}">
  <p><strong>${esc(subscription.status)}</strong> · ${
    subscription.cancel_at_period_end
      ? `cancels on ${esc(formatDate(period.end))}`
      : `renews on ${esc(formatDate(period.end))}`
  }</p>
  <ul>${items}</ul>
  ${focus ? '<p class="notice">Confirm the cancellation of this plan below.</p>' : ''}
  ${
    subscription.cancel_at_period_end
      ? `<form method="post" class="inline"><input type="hidden" name="action" value="resume">${hidden}<button type="submit">Don't cancel</button></form>`
      : `<form method="post" class="inline"><input type="hidden" name="action" value="cancel">${hidden}<button type="submit">Cancel plan</button></form>`
  }
  <form method="post" class="inline"><input type="hidden" name="action" value="cancel_now">${hidden}<button type="submit" class="secondary">Cancel now</button></form>
  ${
    licensed && alternatives.length > 0
      ? `<form method="post"><input type="hidden" name="action" value="change">${hidden}<input type="hidden" name="item" value="${esc(licensed.id)}">
    <label>Change plan <select name="price">${alternatives
      .map(
        (price) =>
          `<option value="${esc(price.id)}">${esc(price.nickname ?? productName(store, price))} — ${esc(formatMoney(price.unit_amount ?? 0, price.currency))}</option>`,
      )
      .join('')}</select></label> <button type="submit">Change</button></form>`
      : ''
  }
</section>`;
}
