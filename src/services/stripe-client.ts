import Stripe from 'stripe';
import type { Config } from '../config.ts';
import { stripeRequestsTotal } from '../lib/metrics.ts';
import { instrumentFetch } from '../lib/tracing.ts';

/**
 * The official Stripe client, or null when billing is off (no STRIPE_SECRET_KEY). STRIPE_API_BASE
 * points it at another server that speaks Stripe's wire format (tests, local development). It uses
 * fetch so the same client works on Node and Workers; each call (retries included) is a client
 * span carrying `traceparent`, and a count in stripe_requests_total{operation,outcome}.
 */
export function createStripeClient(
  config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_BASE'>,
  fetchImpl: typeof fetch = (input, init) => fetch(input, init),
): Stripe | null {
  if (!config.STRIPE_SECRET_KEY) return null;
  const target = config.STRIPE_API_BASE ? new URL(config.STRIPE_API_BASE) : null;
  const tracedFetch = instrumentFetch(fetchImpl, {
    spanName: (url, method) => `stripe ${stripeOperation(method, url.pathname)}`,
    attributes: () => ({ 'rpc.system': 'stripe' }),
    onFinish: (url, method, outcome) => {
      stripeRequestsTotal.inc({ operation: stripeOperation(method, url.pathname), outcome });
    },
  });
  return new Stripe(config.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(tracedFetch),
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

/**
 * A bounded label for a Stripe call: the method and the path with object ids replaced, e.g.
 * `POST /v1/customers/:id` (ids are `cus_…`-style or have a digit; `meter_events` is not an id).
 */
const STRIPE_ID = /^[a-z]+_(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{6,}$/;

export function stripeOperation(method: string, pathname: string): string {
  const path = pathname
    .split('/')
    .map((segment) => (STRIPE_ID.test(segment) || /\d/.test(segment.replace(/^v\d+$/, '')) ? ':id' : segment))
    .join('/');
  return `${method} ${path}`;
}
