import { processPendingStripeEvents } from '../services/billing/webhooks.ts';
import { createStripeClient } from '../services/stripe-client.ts';
import type { Job } from './job.ts';

/**
 * Retries Stripe webhook events whose processing failed (backoff 30 s doubling to an hour, at most
 * 10 attempts) and processes any the request did not get to. The Stripe calls run in `gather`,
 * outside the job's transaction; events are leased one by one, so overlapping runs share the work.
 */
export const processStripeEventsJob: Job = {
  name: 'process-stripe-events',
  schedule: '* * * * *',
  description: 'Processes stored Stripe webhook events that are due (new or retrying with backoff).',
  async gather({ db, clock, config }) {
    const stripe = createStripeClient(config);
    if (!stripe) return 'billing is off';
    const { processed, failed } = await processPendingStripeEvents(db, stripe, () => clock.now(), 200);
    return `processed ${processed} events, ${failed} failed`;
  },
  async run({ gathered }) {
    return String(gathered);
  },
};
