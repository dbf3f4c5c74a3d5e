import { createHmac } from 'node:crypto';
import type Stripe from 'stripe';
import { newId } from './store.ts';

/**
 * Webhook delivery to one endpoint, signed exactly like Stripe: `Stripe-Signature: t=<unix>,
 * v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the whole whsec_… secret>`, so the SDK's
 * `constructEventAsync` verifies it. Deliveries go one at a time in event order; a failure (no
 * 2xx, or no answer within the timeout) is retried with backoff. For convergence tests the
 * queue can be held and released shuffled, reversed or with duplicates, and any event can be
 * sent again. The signature timestamp is wall-clock time, not the movable clock, because the
 * receiver checks it against its own clock.
 */

/** How a delivery reaches the endpoint: `fetch` by default; tests may pass `app.request`. */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

export type DeliveryOrder = 'as_is' | 'reverse' | 'shuffle';

export interface Delivery {
  id: string;
  event: string;
  type: string;
  attempt: number;
  /** True for copies sent by redeliver/release with duplicates. */
  duplicate: boolean;
  status: number | null;
  ok: boolean;
  error: string | null;
  at: number;
}

interface QueueEntry {
  event: Stripe.Event;
  attempt: number;
  duplicate: boolean;
}

export interface WebhookOptions {
  url: string | null;
  secret: string;
  fetch: WebhookFetch;
  /** Delays before each retry of a failed delivery; its length is the number of retries. */
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  /** Called after every delivery attempt (the development script prints them). */
  onDelivery?: (delivery: Delivery) => void;
}

const DELIVERY_LOG_LIMIT = 5000;

/** Signs a payload the way Stripe does (also usable by tests that build deliveries by hand). */
export function signPayload(
  payload: string,
  secret: string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

export class Webhooks {
  url: string | null;
  secret: string;
  paused = false;
  readonly deliveries: Delivery[] = [];
  private queue: QueueEntry[] = [];
  private inFlight: Promise<void> | null = null;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly succeeded = new Set<string>();
  private readonly waiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly options: WebhookOptions) {
    this.url = options.url;
    this.secret = options.secret;
  }

  /** Queues a new event for its first delivery. */
  enqueue(event: Stripe.Event): void {
    if (!this.url) return;
    event.pending_webhooks += 1;
    this.queue.push({ event, attempt: 1, duplicate: false });
    this.pump();
  }

  /** Events waiting to be sent (while paused, or behind the one in flight). */
  queued(): { event: string; type: string; duplicate: boolean }[] {
    return this.queue.map((entry) => ({
      event: entry.event.id,
      type: entry.event.type,
      duplicate: entry.duplicate,
    }));
  }

  pause(): void {
    this.paused = true;
  }

  /** Resumes delivery, first reordering (and duplicating) what was held. */
  resume(arrangement: { order?: DeliveryOrder; duplicates?: number; seed?: number } = {}): void {
    this.queue = arrange(this.queue, arrangement);
    this.paused = false;
    this.pump();
  }

  /** Sends `events` again (arranged as asked), e.g. to test that duplicates change nothing. */
  redeliver(
    events: readonly Stripe.Event[],
    arrangement: { order?: DeliveryOrder; duplicates?: number; seed?: number } = {},
  ): number {
    const entries = arrange(
      events.map((event) => ({ event, attempt: 1, duplicate: true })),
      arrangement,
    );
    this.queue.push(...entries);
    this.pump();
    return entries.length;
  }

  /** True when an event was delivered with a 2xx at least once (for `delivery_success`). */
  delivered(eventId: string): boolean {
    return this.succeeded.has(eventId);
  }

  /** Resolves once nothing is queued (or the queue is held), in flight or waiting for a retry. */
  idle(timeoutMs = 10_000): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(done);
        if (index !== -1) this.waiters.splice(index, 1);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  /**
   * Drops queued and scheduled deliveries and the log (the endpoint stays), after the delivery
   * in flight has finished, so nothing from before lands after a reset.
   */
  async clear(): Promise<void> {
    this.queue = [];
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.inFlight;
    // The delivery that was in flight may have scheduled its retry meanwhile.
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.queue = [];
    this.deliveries.length = 0;
    this.succeeded.clear();
    this.paused = false;
    this.notifyIfIdle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await this.inFlight;
    this.notifyIfIdle();
  }

  private isIdle(): boolean {
    return (
      (this.queue.length === 0 || this.paused || !this.url) && !this.inFlight && this.retryTimers.size === 0
    );
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private pump(): void {
    if (this.stopped || this.paused || this.inFlight || !this.url) {
      this.notifyIfIdle();
      return;
    }
    const entry = this.queue.shift();
    if (!entry) {
      this.notifyIfIdle();
      return;
    }
    this.inFlight = this.send(entry).finally(() => {
      this.inFlight = null;
      this.pump();
    });
  }

  private async send(entry: QueueEntry): Promise<void> {
    const url = this.url;
    if (!url) return;
    const payload = JSON.stringify(entry.event, null, 2);
    const delivery: Delivery = {
      id: newId('whd', 14),
      event: entry.event.id,
      type: entry.event.type,
      attempt: entry.attempt,
      duplicate: entry.duplicate,
      status: null,
      ok: false,
      error: null,
      at: Date.now(),
    };
    try {
      const response = await this.options.fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json; charset=utf-8',
          'Stripe-Signature': signPayload(payload, this.secret),
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          Accept: '*/*; q=0.5, application/xml',
          'Cache-Control': 'no-cache',
        },
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      delivery.status = response.status;
      delivery.ok = response.status >= 200 && response.status < 300;
      // Drain the body so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      if (!delivery.ok) delivery.error = `HTTP ${response.status}`;
    } catch (error) {
      delivery.error = error instanceof Error ? error.message : String(error);
    }
    this.deliveries.push(delivery);
    if (this.deliveries.length > DELIVERY_LOG_LIMIT) this.deliveries.shift();
    this.options.onDelivery?.(delivery);
    if (delivery.ok) {
      if (!entry.duplicate && entry.event.pending_webhooks > 0) entry.event.pending_webhooks -= 1;
      this.succeeded.add(entry.event.id);
      return;
    }
    const delay = this.options.retryDelaysMs[entry.attempt - 1];
    if (delay === undefined || this.stopped) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.queue.push({ ...entry, attempt: entry.attempt + 1 });
      this.pump();
    }, delay);
    this.retryTimers.add(timer);
  }
}

function arrange(
  entries: QueueEntry[],
  {
    order = 'as_is',
    duplicates = 0,
    seed = 1,
  }: { order?: DeliveryOrder; duplicates?: number; seed?: number },
): QueueEntry[] {
  let out = entries.flatMap((entry) => [
    entry,
    ...Array.from({ length: duplicates }, () => ({ ...entry, duplicate: true })),
  ]);
  if (order === 'reverse') out = out.reverse();
  if (order === 'shuffle') {
    const random = mulberry32(seed);
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const a = out[i];
      const b = out[j];
      if (a && b) {
        out[i] = b;
        out[j] = a;
      }
    }
  }
  return out;
}

/** A small seeded PRNG, so a shuffled delivery order can be replayed by its seed. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
