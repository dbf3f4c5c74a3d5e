import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { Billing } from '../billing.ts';
import { formatMoney } from '../format.ts';
import type { CheckoutExtras } from '../resources/checkout.ts';
import { completeSession, PaymentDeclined, successRedirect } from '../resources/checkout.ts';
import type { Store } from '../store.ts';
import { StripeApiError } from '../wire.ts';
import { esc, layout, readForm, redirect, sendHtml } from './html.ts';

/**
 * The hosted Checkout page a session's `url` points to: the line items, an email field when the
 * session has no customer, a choice of test card, and a Pay button. Posting the form (a browser
 * or a plain HTTP POST in a test) completes the session and answers 303 to `success_url`.
 */

export interface CheckoutPageContext {
  store: Store;
  billing: Billing;
  extras: Map<string, CheckoutExtras>;
  baseUrl: () => string;
}

export async function handleCheckoutPage(
  context: CheckoutPageContext,
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string,
): Promise<void> {
  const session = context.store.checkoutSessions.get(sessionId);
  if (!session)
    return sendHtml(
      res,
      404,
      layout('Not found', '<p class="error">This Checkout Session does not exist.</p>'),
    );
  if (req.method === 'POST') {
    const form = await readForm(req);
    try {
      context.store.withRequest(null, () =>
        completeSession(context.store, context.billing, context.extras, session, {
          ...(form.email !== undefined ? { email: form.email } : {}),
          ...(form.name !== undefined ? { name: form.name } : {}),
          card: form.card === 'decline' ? 'decline' : 'succeed',
        }),
      );
    } catch (error) {
      if (error instanceof PaymentDeclined)
        return sendHtml(res, 402, render(context, session, error.message, form));
      if (error instanceof StripeApiError)
        return sendHtml(res, 400, render(context, session, error.message, form));
      throw error;
    }
    return redirect(res, successRedirect(session, context.baseUrl()));
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, POST' });
    res.end();
    return;
  }
  sendHtml(res, 200, render(context, session, null, {}));
}

function render(
  context: CheckoutPageContext,
  session: Stripe.Checkout.Session,
  error: string | null,
  form: Record<string, string>,
): string {
  const lines = context.store.checkoutLineItems.get(session.id) ?? [];
  const currency = session.currency ?? 'usd';
  const rows = lines
    .map((line) => {
      const price = line.price;
      const recurring = price?.recurring;
      const every = recurring
        ? ` / ${recurring.interval_count > 1 ? `${recurring.interval_count} ` : ''}${recurring.interval}`
        : '';
      const unit = price?.unit_amount ?? Number(String(price?.unit_amount_decimal ?? '0'));
      const metered = recurring?.usage_type === 'metered';
      return `<tr>
  <td>${esc(line.description)}<div class="muted">${metered ? `usage-based: ${esc(formatMoney(unit, currency))} per unit${esc(every)}` : `${esc(formatMoney(unit, currency))}${esc(every)}`}</div></td>
  <td>${metered ? '—' : esc(line.quantity)}</td>
  <td class="amount">${esc(formatMoney(line.amount_total, currency))}</td>
</tr>`;
    })
    .join('\n');
  const header = `<h1>Subscribe</h1>
<table>
<thead><tr><th>Item</th><th>Qty</th><th class="amount">Amount</th></tr></thead>
<tbody>
${rows}
<tr class="total"><td colspan="2">Total due today</td><td class="amount">${esc(formatMoney(session.amount_total ?? 0, currency))}</td></tr>
</tbody>
</table>`;
  if (session.status === 'complete') {
    return layout(
      'Subscribed',
      `${header}<p class="notice">This Checkout Session is complete.</p><p><a href="${esc(successRedirect(session, context.baseUrl()))}">Continue</a></p>`,
    );
  }
  if (session.status === 'expired') {
    return layout('Expired', `${header}<p class="error">This Checkout Session has expired.</p>`);
  }
  const needsEmail = !session.customer && !session.customer_email;
  const email = session.customer_details?.email ?? session.customer_email ?? '';
  const card = form.card === 'decline' ? 'decline' : 'succeed';
  return layout(
    'Checkout',
    `${header}
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/c/pay/${esc(session.id)}">
  <p><label>Email<br>${
    needsEmail
      ? `<input type="email" name="email" required autocomplete="email" value="${esc(form.email ?? '')}">`
      : `<input type="email" value="${esc(email)}" readonly>`
  }</label></p>
  ${needsEmail ? `<p><label>Name on card<br><input type="text" name="name" value="${esc(form.name ?? '')}"></label></p>` : ''}
  <fieldset>
    <legend>Test card</legend>
    <label><input type="radio" name="card" value="succeed"${card === 'succeed' ? ' checked' : ''}> 4242 4242 4242 4242 (succeeds)</label><br>
    <label><input type="radio" name="card" value="decline"${card === 'decline' ? ' checked' : ''}> 4000 0000 0000 0002 (declined)</label>
  </fieldset>
  <p><button type="submit">Pay and subscribe</button></p>
</form>
${session.cancel_url ? `<p><a href="${esc(session.cancel_url)}">← Back</a></p>` : ''}`,
  );
}
