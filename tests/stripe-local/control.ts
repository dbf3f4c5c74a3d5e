import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import type { Billing } from './billing.ts';
import type { FaultSpec, Faults } from './faults.ts';
import type { CheckoutExtras } from './resources/checkout.ts';
import { completeSession, expireSession, PaymentDeclined, successRedirect } from './resources/checkout.ts';
import { updateCustomer } from './resources/customers.ts';
import type { RequestLogEntry } from './router.ts';
import { readBody, writeJson } from './router.ts';
import type { PaymentOutcome, Store } from './store.ts';
import type { DeliveryOrder, Webhooks } from './webhooks.ts';
import { StripeApiError } from './wire.ts';

/**
 * `/_control/*`: what a test (or a developer) does to the local Stripe that Stripe's API cannot:
 * reset, move the clock, inject faults, read the request log, steer webhook delivery, trigger
 * events, make a customer's card decline, complete a Checkout Session. JSON in, JSON out, no
 * authentication (the server listens on 127.0.0.1).
 */

export interface ControlContext {
  store: Store;
  billing: Billing;
  faults: Faults;
  webhooks: Webhooks;
  extras: Map<string, CheckoutExtras>;
  requestLog: RequestLogEntry[];
  baseUrl: () => string;
  secretKey: string;
  reset: () => Promise<void>;
}

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Body = Record<string, unknown>;

export async function handleControl(
  context: ControlContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const path = url.pathname.replace(/\/+$/, '');
  let body: Body = {};
  if (method === 'POST') {
    const text = await readBody(req);
    if (text) {
      try {
        body = JSON.parse(text) as Body;
      } catch {
        return writeJson(res, 400, { error: 'the body must be JSON' });
      }
    }
  }
  try {
    const result = await route(context, method, path, body, url);
    writeJson(res, 200, result);
  } catch (error) {
    if (error instanceof ControlError) return writeJson(res, error.status, { error: error.message });
    if (error instanceof StripeApiError) return writeJson(res, error.status, { error: error.message });
    if (error instanceof Error) return writeJson(res, 400, { error: error.message });
    throw error;
  }
}

async function route(
  context: ControlContext,
  method: string,
  path: string,
  body: Body,
  url: URL,
): Promise<unknown> {
  const { store, billing, faults, webhooks } = context;
  const key = `${method} ${path}`;
  switch (key) {
    case 'GET /_control':
      return {
        url: context.baseUrl(),
        secretKey: context.secretKey,
        webhook: { url: webhooks.url, secret: webhooks.secret },
        now: store.now(),
      };
    case 'POST /_control/reset':
      await context.reset();
      return { ok: true };
    case 'GET /_control/clock':
      return { now: store.now(), offset: store.clockOffset };
    case 'POST /_control/clock': {
      const advance = optionalNumber(body, 'advance');
      const to = optionalNumber(body, 'to');
      if ((advance === undefined) === (to === undefined))
        throw new ControlError(400, 'give either advance (seconds) or to (unix seconds)');
      const target = to ?? store.now() + (advance ?? 0);
      if (target < store.now()) throw new ControlError(400, 'the clock only moves forward');
      store.withRequest(null, () => billing.advanceTo(target, (session) => expireSession(store, session)));
      return { now: store.now() };
    }
    case 'GET /_control/faults':
      return { faults: faults.list() };
    case 'POST /_control/faults':
      return { fault: faults.add(body as unknown as FaultSpec) };
    case 'DELETE /_control/faults':
      faults.clear();
      return { ok: true };
    case 'GET /_control/requests': {
      const pathFilter = url.searchParams.get('path');
      const methodFilter = url.searchParams.get('method')?.toUpperCase();
      return {
        requests: context.requestLog.filter(
          (entry) =>
            (!pathFilter || entry.path === pathFilter) && (!methodFilter || entry.method === methodFilter),
        ),
      };
    }
    case 'DELETE /_control/requests':
      context.requestLog.length = 0;
      return { ok: true };
    case 'GET /_control/webhooks':
      return {
        endpoint: { url: webhooks.url, secret: webhooks.secret },
        paused: webhooks.paused,
        queued: webhooks.queued(),
        deliveries: webhooks.deliveries,
      };
    case 'POST /_control/webhooks/endpoint': {
      const endpointUrl = body.url;
      if (endpointUrl !== null && typeof endpointUrl !== 'string')
        throw new ControlError(400, 'url must be a string or null');
      webhooks.url = endpointUrl;
      if (body.secret !== undefined) {
        if (typeof body.secret !== 'string' || !body.secret.startsWith('whsec_')) {
          throw new ControlError(400, 'secret must be a whsec_… string');
        }
        webhooks.secret = body.secret;
      }
      return { endpoint: { url: webhooks.url, secret: webhooks.secret } };
    }
    case 'POST /_control/webhooks/pause':
      webhooks.pause();
      return { paused: true };
    case 'POST /_control/webhooks/resume':
      webhooks.resume(arrangement(body));
      return { paused: false };
    case 'POST /_control/webhooks/redeliver': {
      const ids = stringList(body, 'events');
      const types = stringList(body, 'types');
      let events: Stripe.Event[];
      if (ids) {
        events = ids.map((id) => {
          const event = store.eventsById.get(id);
          if (!event) throw new ControlError(404, `no such event: ${id}`);
          return event;
        });
      } else {
        events = store.events.filter((event) => !types || types.includes(event.type));
      }
      return { queued: webhooks.redeliver(events, arrangement(body)) };
    }
    case 'POST /_control/webhooks/idle': {
      const timeoutMs = optionalNumber(body, 'timeoutMs') ?? 10_000;
      return { idle: await webhooks.idle(timeoutMs), deliveries: webhooks.deliveries.length };
    }
    case 'POST /_control/trigger':
      return trigger(context, body);
    case 'GET /_control/meter_event_errors':
      return { errors: store.meterEventErrors };
    case 'GET /_control/meter_events':
      return { events: store.meterEvents };
  }
  const outcome = /^\/_control\/customers\/([^/]+)\/payment_method$/.exec(path);
  if (outcome && method === 'POST') {
    const id = decodeURIComponent(outcome[1] ?? '');
    if (!store.customer(id)) throw new ControlError(404, `no such customer: ${id}`);
    const value = body.outcome;
    if (value !== 'succeed' && value !== 'decline')
      throw new ControlError(400, "outcome must be 'succeed' or 'decline'");
    store.stateOfCustomer(id).paymentOutcome = value as PaymentOutcome;
    return { customer: id, outcome: value };
  }
  const complete = /^\/_control\/checkout\/sessions\/([^/]+)\/complete$/.exec(path);
  if (complete && method === 'POST') {
    const id = decodeURIComponent(complete[1] ?? '');
    const session = store.checkoutSessions.get(id);
    if (!session) throw new ControlError(404, `no such checkout session: ${id}`);
    try {
      store.withRequest(null, () =>
        completeSession(store, billing, context.extras, session, {
          ...(typeof body.email === 'string' ? { email: body.email } : {}),
          ...(typeof body.name === 'string' ? { name: body.name } : {}),
          card: body.card === 'decline' ? 'decline' : 'succeed',
        }),
      );
    } catch (error) {
      if (error instanceof PaymentDeclined) throw new ControlError(402, error.message);
      throw error;
    }
    return { redirect: successRedirect(session, context.baseUrl()), session };
  }
  throw new ControlError(404, `unknown control route: ${method} ${path}`);
}

/**
 * Triggers: `invoice.payment_failed` (a failing charge on `subscription`, which turns past_due),
 * `invoice.paid` (pays the open `invoice` with a working card), `customer.updated` (applies
 * `changes` to `customer`, or re-sends it unchanged), or any type with an `object` id: the event
 * with that object's current state and no change (e.g. to test unknown or duplicate events).
 */
function trigger(context: ControlContext, body: Body): unknown {
  const { store, billing } = context;
  const type = body.event;
  if (typeof type !== 'string') throw new ControlError(400, 'event (the event type) is required');
  const before = store.events.length;
  store.withRequest(null, () => {
    switch (type) {
      case 'invoice.payment_failed': {
        const subscription = store.subscriptions.get(String(body.subscription ?? ''));
        if (!subscription) throw new ControlError(404, 'subscription: no such subscription');
        billing.failPayment(subscription);
        return;
      }
      case 'invoice.paid': {
        const invoice = store.invoices.get(String(body.invoice ?? ''));
        if (!invoice) throw new ControlError(404, 'invoice: no such invoice');
        const customer =
          typeof invoice.customer === 'string' ? invoice.customer : (invoice.customer?.id ?? '');
        store.stateOfCustomer(customer).paymentOutcome = 'succeed';
        billing.pay(invoice);
        return;
      }
      case 'customer.updated': {
        const customer = store.customer(String(body.customer ?? ''));
        if (!customer) throw new ControlError(404, 'customer: no such customer');
        const changes = (body.changes ?? {}) as Record<string, unknown>;
        if (Object.keys(changes).length === 0) {
          store.emit('customer.updated', customer);
          return;
        }
        updateCustomer(store, customer, (target) => {
          for (const [field, value] of Object.entries(changes)) {
            if (field === 'metadata' && value && typeof value === 'object') {
              target.metadata = { ...target.metadata, ...(value as Record<string, string>) };
            } else if (['email', 'name', 'description', 'phone'].includes(field)) {
              (target as unknown as Record<string, unknown>)[field] = value;
            } else {
              throw new ControlError(
                400,
                `changes.${field} is not supported (email, name, description, phone, metadata)`,
              );
            }
          }
        });
        return;
      }
      default: {
        const id = body.object;
        if (typeof id !== 'string')
          throw new ControlError(400, `for ${type}, give object (the id of the object to send)`);
        const object = store.lookup(id);
        if (!object) throw new ControlError(404, `no such object: ${id}`);
        store.emit(type as Stripe.Event.Type, object);
      }
    }
  });
  return { events: store.events.slice(before).map((event) => ({ id: event.id, type: event.type })) };
}

function optionalNumber(body: Body, key: string): number | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ControlError(400, `${key} must be a number`);
  return Math.floor(value);
}

function stringList(body: Body, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
    throw new ControlError(400, `${key} must be a list of strings`);
  }
  return value as string[];
}

function arrangement(body: Body): { order?: DeliveryOrder; duplicates?: number; seed?: number } {
  const order = body.order;
  if (order !== undefined && order !== 'as_is' && order !== 'reverse' && order !== 'shuffle') {
    throw new ControlError(400, "order must be 'as_is', 'reverse' or 'shuffle'");
  }
  const duplicates = optionalNumber(body, 'duplicates');
  const seed = optionalNumber(body, 'seed');
  return {
    ...(order ? { order } : {}),
    ...(duplicates !== undefined ? { duplicates } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}
