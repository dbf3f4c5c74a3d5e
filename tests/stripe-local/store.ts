import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { JsonObject } from './wire.ts';
import { toJson } from './wire.ts';

/**
 * Everything the local Stripe server knows, in memory: the objects (kept as the `stripe`
 * package's own types, so shapes stay Stripe's), the state Stripe keeps behind them (payment
 * outcomes, pending prorations, meter events), the event log and a movable clock.
 */

/** What a customer's saved card does when charged; set through the control API. */
export type PaymentOutcome = 'succeed' | 'decline';

export interface CustomerState {
  paymentOutcome: PaymentOutcome;
  nextInvoiceNumber: number;
}

export interface SubscriptionState {
  /** Start of the first period; periods are counted from it (month ends clamp, as Stripe does). */
  anchor: number;
  /** Index of the current period (0 = the first). */
  periodIndex: number;
  /** Proration lines waiting for the next invoice (`proration_behavior=create_prorations`). */
  pendingLines: Stripe.InvoiceLineItem[];
}

export interface InvoiceState {
  /** When the first payment attempt failed; retries are scheduled from it. */
  firstFailedAt: number;
  /** Failed automatic attempts so far. */
  automaticFailures: number;
  /** When the next automatic retry is due; null when none is scheduled. */
  retryAt: number | null;
}

export interface MeterEventRecord {
  event: Stripe.Billing.MeterEvent;
  /** Canceled by a meter event adjustment. */
  canceled: boolean;
  /** False when ingestion reported an error (the event never counts). */
  valid: boolean;
  receivedAt: number;
}

/** An asynchronous ingestion error Stripe reports for a meter event (it answers 200 regardless). */
export interface MeterEventError {
  identifier: string;
  event_name: string;
  code:
    | 'no_meter'
    | 'meter_event_no_customer_defined'
    | 'meter_event_customer_not_found'
    | 'meter_event_invalid_value'
    | 'timestamp_too_far_in_past'
    | 'timestamp_in_future'
    | 'meter_event_adjustment_unknown_identifier'
    | 'meter_event_adjustment_too_late';
  message: string;
}

/** Who caused an event: the API request (id and idempotency key) or nobody (clock, pages). */
export interface RequestContext {
  id: string | null;
  idempotency_key: string | null;
}

export type EventListener = (event: Stripe.Event) => void;

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Stripe-looking id: prefix plus random base62 characters. */
export function newId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return `${prefix}_${out}`;
}

export class Store {
  /** Seconds added to the wall clock by `/_control/clock`. */
  clockOffset = 0;

  readonly products = new Map<string, Stripe.Product>();
  readonly prices = new Map<string, Stripe.Price>();
  readonly customers = new Map<string, Stripe.Customer | Stripe.DeletedCustomer>();
  readonly customerState = new Map<string, CustomerState>();
  /** Cards entered on the checkout page (the billing dashboard shows the default one). */
  readonly paymentMethods = new Map<string, Stripe.PaymentMethod>();
  readonly checkoutSessions = new Map<string, Stripe.Checkout.Session>();
  readonly checkoutLineItems = new Map<string, Stripe.LineItem[]>();
  readonly portalSessions = new Map<string, Stripe.BillingPortal.Session>();
  readonly subscriptions = new Map<string, Stripe.Subscription>();
  readonly subscriptionState = new Map<string, SubscriptionState>();
  readonly invoices = new Map<string, Stripe.Invoice>();
  readonly invoiceState = new Map<string, InvoiceState>();
  readonly meters = new Map<string, Stripe.Billing.Meter>();
  readonly meterEvents: MeterEventRecord[] = [];
  readonly meterEventIdentifiers = new Map<string, MeterEventRecord>();
  readonly meterEventErrors: MeterEventError[] = [];
  /** Newest last; lists answer newest first. */
  readonly events: Stripe.Event[] = [];
  readonly eventsById = new Map<string, Stripe.Event>();

  /** The request whose handler is running, so the events it causes carry its id and key. */
  request: RequestContext | null = null;
  /** While true (seeding the catalogue), changes emit no events. */
  private silent = false;
  private readonly listeners: EventListener[] = [];

  /** Unix seconds on the (movable) clock. */
  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockOffset;
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  /** Runs `fn` with `context` as the cause of any event it emits. */
  withRequest<T>(context: RequestContext | null, fn: () => T): T {
    const previous = this.request;
    this.request = context;
    try {
      return fn();
    } finally {
      this.request = previous;
    }
  }

  /** Runs `fn` without recording or sending events (the seeded catalogue is not news). */
  withoutEvents<T>(fn: () => T): T {
    const previous = this.silent;
    this.silent = true;
    try {
      return fn();
    } finally {
      this.silent = previous;
    }
  }

  /**
   * Records an event whose `data.object` is a snapshot of `object` now (Stripe events carry the
   * object as it was when the event happened) and hands it to the webhook dispatcher.
   */
  emit(type: Stripe.Event.Type, object: object, previousAttributes?: JsonObject): Stripe.Event | null {
    if (this.silent) return null;
    const base: Stripe.EventBase = {
      id: newId('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: this.now(),
      data: {
        object: toJson(object),
        ...(previousAttributes && Object.keys(previousAttributes).length > 0
          ? { previous_attributes: previousAttributes }
          : {}),
      },
      livemode: false,
      pending_webhooks: 0,
      request: this.request ?? { id: null, idempotency_key: null },
      type,
    };
    // The union member for `type` differs only in the declared type of `data.object`.
    const event = base as Stripe.Event;
    this.events.push(event);
    this.eventsById.set(event.id, event);
    for (const listener of this.listeners) listener(event);
    return event;
  }

  customer(id: string): Stripe.Customer | undefined {
    const customer = this.customers.get(id);
    return customer && !customer.deleted ? customer : undefined;
  }

  stateOfCustomer(id: string): CustomerState {
    let state = this.customerState.get(id);
    if (!state) {
      state = { paymentOutcome: 'succeed', nextInvoiceNumber: 1 };
      this.customerState.set(id, state);
    }
    return state;
  }

  stateOfSubscription(id: string): SubscriptionState {
    const state = this.subscriptionState.get(id);
    if (!state) throw new Error(`stripe-local: no state for subscription ${id}`);
    return state;
  }

  /** The JSON of any stored object by id, for `expand[]`. */
  lookup(id: string): object | undefined {
    return (
      this.customers.get(id) ??
      this.subscriptions.get(id) ??
      this.invoices.get(id) ??
      this.prices.get(id) ??
      this.products.get(id) ??
      this.checkoutSessions.get(id) ??
      this.portalSessions.get(id) ??
      this.meters.get(id) ??
      this.subscriptionItem(id)
    );
  }

  subscriptionItem(id: string): Stripe.SubscriptionItem | undefined {
    if (!id.startsWith('si_')) return undefined;
    for (const subscription of this.subscriptions.values()) {
      const item = subscription.items.data.find((candidate) => candidate.id === id);
      if (item) return item;
    }
    return undefined;
  }

  /** Forgets everything (the caller re-seeds the catalogue). */
  clear(): void {
    this.clockOffset = 0;
    for (const map of [
      this.products,
      this.prices,
      this.customers,
      this.customerState,
      this.paymentMethods,
      this.checkoutSessions,
      this.checkoutLineItems,
      this.portalSessions,
      this.subscriptions,
      this.subscriptionState,
      this.invoices,
      this.invoiceState,
      this.meters,
      this.meterEventIdentifiers,
      this.eventsById,
    ] as Map<string, unknown>[]) {
      map.clear();
    }
    this.meterEvents.length = 0;
    this.meterEventErrors.length = 0;
    this.events.length = 0;
  }
}

/** Newest first, the order of every Stripe list. */
export function newestFirst<T>(values: Iterable<T>): T[] {
  return [...values].reverse();
}

/** Top-level fields whose JSON differs: Stripe's `previous_attributes` of an `*.updated` event. */
export function previousAttributes(before: JsonObject, after: object): JsonObject {
  const now = toJson(after);
  const changed: JsonObject = {};
  for (const key of Object.keys(now)) {
    const old = before[key];
    if (JSON.stringify(old) !== JSON.stringify(now[key])) changed[key] = old === undefined ? null : old;
  }
  return changed;
}
