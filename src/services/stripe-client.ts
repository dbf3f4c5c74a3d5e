import Stripe from 'stripe';
import type { Config } from '../config.ts';

/**
 * The official Stripe client, or null when billing is off (no STRIPE_SECRET_KEY). STRIPE_API_URL
 * points it at another server that speaks Stripe's wire format (tests, local development). It uses
 * fetch so the same client works on Node and Workers.
 */
export function createStripeClient(
  config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_URL'>,
): Stripe | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  const target = config.STRIPE_API_URL ? new URL(config.STRIPE_API_URL) : null;
  return new Stripe(config.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 2,
    ...(target
      ? {
          host: target.hostname,
          port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
          protocol: target.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}
