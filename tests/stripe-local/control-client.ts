import type Stripe from 'stripe';
import type { Fault, FaultSpec } from './faults.ts';
import type { RequestLogEntry } from './router.ts';
import type { MeterEventError, MeterEventRecord, PaymentOutcome } from './store.ts';
import type { Delivery, DeliveryOrder } from './webhooks.ts';

/**
 * The test-side helper for `/_control/*`. It talks HTTP, so it works the same against the
 * in-process server of `startStripeLocal` and against `npm run stripe:local` in another process.
 */

export interface DeliveryArrangement {
  /** `as_is` (event order), `reverse`, or `shuffle` (seeded). */
  order?: DeliveryOrder;
  /** Extra copies of every event. */
  duplicates?: number;
  /** Seed of the shuffle, so a failing order can be replayed. */
  seed?: number;
}

export class StripeLocalControl {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/_control${path}`, {
      method,
      ...(body !== undefined
        ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
        : {}),
    });
    const json = (await response.json()) as T & { error?: string };
    if (!response.ok)
      throw new Error(`stripe-local control ${method} ${path}: ${json.error ?? response.status}`);
    return json;
  }

  /** Forgets every object, event, fault and logged request; re-seeds the catalogue; resets the clock. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }

  /** Unix seconds on the server's (movable) clock. */
  async now(): Promise<number> {
    return (await this.call<{ now: number }>('GET', '/clock')).now;
  }

  /**
   * Moves the clock forward, running what falls due on the way (renewals and their invoices,
   * ends of subscriptions set to cancel, payment retries, session expiry). Answers the new time.
   */
  async advanceClock(seconds: number): Promise<number> {
    return (await this.call<{ now: number }>('POST', '/clock', { advance: seconds })).now;
  }

  async setClock(unixSeconds: number): Promise<number> {
    return (await this.call<{ now: number }>('POST', '/clock', { to: unixSeconds })).now;
  }

  /** Makes the next `count` requests matching `path` answer `status` (see `FaultSpec`). */
  async injectFault(spec: FaultSpec): Promise<Fault> {
    return (await this.call<{ fault: Fault }>('POST', '/faults', spec)).fault;
  }

  async faults(): Promise<Fault[]> {
    return (await this.call<{ faults: Fault[] }>('GET', '/faults')).faults;
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }

  /** The API requests the server received (oldest first), optionally for one method and path. */
  async requests(filter: { method?: string; path?: string } = {}): Promise<RequestLogEntry[]> {
    const query = new URLSearchParams(
      Object.entries(filter).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    ).toString();
    return (await this.call<{ requests: RequestLogEntry[] }>('GET', `/requests${query ? `?${query}` : ''}`))
      .requests;
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/requests');
  }

  /** Points webhooks at `url` (null: none), optionally with another signing secret. */
  async setWebhookEndpoint(url: string | null, secret?: string): Promise<void> {
    await this.call('POST', '/webhooks/endpoint', { url, ...(secret ? { secret } : {}) });
  }

  async webhooks(): Promise<{
    endpoint: { url: string | null; secret: string };
    paused: boolean;
    queued: { event: string; type: string; duplicate: boolean }[];
    deliveries: Delivery[];
  }> {
    return this.call('GET', '/webhooks');
  }

  /** Holds deliveries: new events queue up until `resumeWebhooks`. */
  async pauseWebhooks(): Promise<void> {
    await this.call('POST', '/webhooks/pause');
  }

  /** Releases held deliveries, arranged as asked (shuffled, reversed, with duplicates). */
  async resumeWebhooks(arrangement: DeliveryArrangement = {}): Promise<void> {
    await this.call('POST', '/webhooks/resume', arrangement);
  }

  /** Sends events again: the given ids, or every event (of `types`) so far. Answers how many were queued. */
  async redeliver(
    options: { events?: string[]; types?: string[] } & DeliveryArrangement = {},
  ): Promise<number> {
    return (await this.call<{ queued: number }>('POST', '/webhooks/redeliver', options)).queued;
  }

  /** Waits until no delivery is queued, in flight or waiting to be retried. */
  async webhooksIdle(timeoutMs = 10_000): Promise<void> {
    const { idle } = await this.call<{ idle: boolean }>('POST', '/webhooks/idle', { timeoutMs });
    if (!idle) throw new Error(`stripe-local: webhook deliveries still pending after ${timeoutMs} ms`);
  }

  /** Every delivery attempt so far (oldest first). */
  async deliveries(): Promise<Delivery[]> {
    return (await this.webhooks()).deliveries;
  }

  /**
   * Triggers an event: `invoice.payment_failed` ({ subscription }), `invoice.paid` ({ invoice }),
   * `customer.updated` ({ customer, changes? }), or any type with { object: id } (sent as is).
   */
  async trigger(
    event: string,
    args: {
      subscription?: string;
      invoice?: string;
      customer?: string;
      changes?: Record<string, unknown>;
      object?: string;
    },
  ): Promise<{ id: string; type: string }[]> {
    return (
      await this.call<{ events: { id: string; type: string }[] }>('POST', '/trigger', { event, ...args })
    ).events;
  }

  /** Makes the customer's saved card succeed or decline on the next charges. */
  async setPaymentOutcome(customer: string, outcome: PaymentOutcome): Promise<void> {
    await this.call('POST', `/customers/${encodeURIComponent(customer)}/payment_method`, { outcome });
  }

  /** Pays a Checkout Session as its page would; answers where the browser would be redirected. */
  async completeCheckout(
    sessionId: string,
    input: { email?: string; name?: string; card?: 'succeed' | 'decline' } = {},
  ): Promise<{ redirect: string; session: Stripe.Checkout.Session }> {
    return this.call('POST', `/checkout/sessions/${encodeURIComponent(sessionId)}/complete`, input);
  }

  /** Meter events Stripe would have reported as failed asynchronously (unknown meter, customer, …). */
  async meterEventErrors(): Promise<MeterEventError[]> {
    return (await this.call<{ errors: MeterEventError[] }>('GET', '/meter_event_errors')).errors;
  }

  /** Every meter event the server took (in order of arrival), with whether it counts. */
  async meterEvents(): Promise<MeterEventRecord[]> {
    return (await this.call<{ events: MeterEventRecord[] }>('GET', '/meter_events')).events;
  }
}
