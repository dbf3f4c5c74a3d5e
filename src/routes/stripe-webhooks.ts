import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { AppError } from '../lib/errors.ts';
import { processPendingStripeEvents, receiveStripeWebhook } from '../services/billing/webhooks.ts';

/**
 * `POST /webhooks/stripe`: Stripe's signed events. No session or token — the signature over the
 * raw body is the authentication (400 and nothing stored when it fails). A fresh event is
 * answered 200 at once and processed after the response (Workers: waitUntil); the
 * process-stripe-events job retries whatever fails.
 */
export const stripeWebhookRoutes = new Hono<AppEnv>();

stripeWebhookRoutes.post('/webhooks/stripe', async (c) => {
  const { db, stripe, config, clock, logger } = c.get('deps');
  if (!stripe) throw new AppError(404, 'Not Found', 'Billing is not configured on this installation.');
  const { event, fresh } = await receiveStripeWebhook(
    db,
    stripe,
    config.STRIPE_WEBHOOK_SECRET,
    await c.req.text(),
    c.req.header('Stripe-Signature'),
    clock.now(),
  );
  if (fresh) {
    const work = processPendingStripeEvents(db, stripe, () => clock.now(), 10).catch((error: unknown) => {
      logger.warn('stripe event processing failed; the job retries it', { err: error, event_id: event.id });
    });
    try {
      c.executionCtx.waitUntil(work);
    } catch {
      // Node has no execution context: the promise runs on after the response by itself.
    }
  }
  return c.json({ received: true, duplicate: !fresh });
});
