import Stripe from 'stripe';
import { AppError } from '../../lib/errors.ts';

/**
 * Stripe failing is not our 500: after the client's own retries (2, with backoff), an overloaded
 * or unreachable Stripe answers 503 with Retry-After so the user (or client) tries again — and
 * because customer creation carries an idempotency key, trying again never makes a second one.
 * A request Stripe rejects as invalid is a 502: our request was wrong, which the user cannot fix.
 */
export async function callStripe<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (
      error instanceof Stripe.errors.StripeRateLimitError ||
      error instanceof Stripe.errors.StripeAPIError ||
      error instanceof Stripe.errors.StripeConnectionError ||
      (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500)
    ) {
      throw new AppError(
        503,
        'Service Unavailable',
        'Stripe is not answering right now. Nothing was charged; try again in a minute.',
        [],
        { 'Retry-After': '30' },
      );
    }
    if (error instanceof Stripe.errors.StripeError) {
      throw new AppError(502, 'Bad Gateway', `Stripe refused the request: ${error.message}`);
    }
    throw error;
  }
}
