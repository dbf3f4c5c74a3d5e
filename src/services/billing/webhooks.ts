import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import {
  accountByCustomer,
  insertStripeEvent,
  leaseDueStripeEvent,
  markStripeEventFailed,
  markStripeEventProcessed,
  setStripeCustomer,
} from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { AppError } from '../../lib/errors.ts';
import { accountKeyFromMetadata } from './accounts.ts';
import { syncAccountFromStripe } from './stripe-sync.ts';

/**
 * Stripe webhooks (`POST /webhooks/stripe`). Receiving is verify-then-store: the raw body is
 * checked with the SDK's async verifier (Workers have only async crypto) within 300 s, and a
 * verified event is inserted into stripe_events once (its id is the key, so a duplicate delivery
 * is acknowledged and does nothing). Processing reads pending events from that table — right
 * after the response, and from the job runner for retries with backoff — and converges by
 * re-reading the customer from Stripe (stripe-sync.ts). Unknown event types are stored and
 * marked processed without doing anything.
 */

export const WEBHOOK_TOLERANCE_SECONDS = 300;
export const MAX_EVENT_ATTEMPTS = 10;

/** Events that say something about a customer's subscriptions or invoices. */
export const HANDLED_EVENTS = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.payment_succeeded',
  'invoice.finalized',
  'invoice.voided',
  'customer.updated',
]);

function customerOf(event: Stripe.Event): string | null {
  const object = event.data.object as { object?: string; id?: string; customer?: unknown };
  if (object.object === 'customer' && typeof object.id === 'string') return object.id;
  if (typeof object.customer === 'string') return object.customer;
  if (object.customer && typeof object.customer === 'object' && 'id' in object.customer) {
    return String((object.customer as { id: unknown }).id);
  }
  return null;
}

/** Verifies and stores one delivery; answers whether it was new. Bad signature → 400, nothing stored. */
export async function receiveStripeWebhook(
  db: Kysely<Database>,
  stripe: Stripe,
  secret: string | undefined,
  rawBody: string,
  signature: string | undefined,
  now: Date,
): Promise<{ event: Stripe.Event; fresh: boolean }> {
  if (!secret) {
    throw new AppError(400, 'Bad Request', 'Webhooks are not configured here (no STRIPE_WEBHOOK_SECRET).');
  }
  if (!signature) throw new AppError(400, 'Bad Request', 'The Stripe-Signature header is missing.');
  let event: Stripe.Event;
  try {
    event = await stripe.webhooks.constructEventAsync(
      rawBody,
      signature,
      secret,
      WEBHOOK_TOLERANCE_SECONDS,
      undefined,
      now.getTime(),
    );
  } catch {
    throw new AppError(
      400,
      'Bad Request',
      'The signature does not match this body and secret, or it is older than 300 seconds.',
    );
  }
  const fresh = await insertStripeEvent(
    db,
    {
      event_id: event.id,
      type: event.type,
      customer_id: customerOf(event),
      stripe_created: new Date(event.created * 1000),
    },
    now,
  );
  // A checkout names its account in the metadata ktrlplane set; remember the customer at once, so
  // processing can find the account even when this is the first event about the customer.
  if (event.type === 'checkout.session.completed') {
    const session = event.data.object as Stripe.Checkout.Session;
    const key = accountKeyFromMetadata(session.metadata);
    const customer = typeof session.customer === 'string' ? session.customer : session.customer?.id;
    if (key && customer) await setStripeCustomer(db, key, customer, now);
  }
  return { event, fresh };
}

/** Backoff before attempt n+1: 30 s, 1 min, 2 min … capped at an hour. */
export function retryDelayMs(attempts: number): number {
  return Math.min(30_000 * 2 ** attempts, 3_600_000);
}

/** How long a processor may take over one event before another may try it. */
const LEASE_MS = 5 * 60_000;

/**
 * Processes due events, oldest first. Each is leased in one statement (FOR UPDATE SKIP LOCKED),
 * so parallel processors never take the same one, and the Stripe reads happen outside any
 * transaction (on PGlite a transaction would hold the only connection meanwhile). Several events
 * about one customer in a run converge with one read of Stripe.
 */
export async function processPendingStripeEvents(
  db: Kysely<Database>,
  stripe: Stripe,
  now: () => Date,
  limit = 50,
): Promise<{ processed: number; failed: number }> {
  let processed = 0;
  let failed = 0;
  const synced = new Set<string>();
  for (let index = 0; index < limit; index++) {
    const event = await leaseDueStripeEvent(
      db,
      now(),
      new Date(now().getTime() + LEASE_MS),
      MAX_EVENT_ATTEMPTS,
    );
    if (!event) break;
    try {
      const customer = event.customer_id;
      const account =
        customer && HANDLED_EVENTS.has(event.type) ? await accountByCustomer(db, customer) : null;
      if (account && customer && !synced.has(customer)) {
        await syncAccountFromStripe(db, stripe, account, now());
        synced.add(customer);
      }
      await markStripeEventProcessed(db, event.event_id, now());
      processed++;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await markStripeEventFailed(
        db,
        event.event_id,
        message,
        new Date(now().getTime() + retryDelayMs(event.attempts - 1)),
      );
      failed++;
    }
  }
  return { processed, failed };
}
