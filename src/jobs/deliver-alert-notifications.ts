import { dueAlertDeliveries, recordDeliveryAttempt } from '../db/alerts.repository.ts';
import { type DeliveryOutcome, nextAttemptAfter, sendDelivery } from '../services/alerts/deliver.ts';
import type { Job } from './job.ts';

const BATCH_SIZE = 50;
const CONCURRENCY = 5;

/**
 * Sends queued webhook and Alertmanager notifications (alert_deliveries) every 30 seconds, retrying
 * failures with exponential backoff (30 s doubling, at most an hour, 8 attempts). Sending happens
 * in `gather`, outside any transaction; `run` records the outcomes (only rows still pending, so a
 * second overlapping run cannot overwrite a result). Delivery is at least once: receivers dedupe
 * by X-Ktrlplane-Delivery.
 */
export const deliverAlertNotificationsJob: Job = {
  name: 'deliver-alert-notifications',
  schedule: '* * * * *',
  intervalSeconds: 30,
  description:
    'Sends alert notifications to webhooks (HMAC-signed) and Alertmanager, with retries and backoff.',
  async gather({ db, config, clock }) {
    const due = await dueAlertDeliveries(db, clock.now(), BATCH_SIZE);
    const outcomes: DeliveryOutcome[] = [];
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const delivery = due[next++];
        if (delivery) outcomes.push(await sendDelivery(delivery, config, clock.now()));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return outcomes;
  },
  async run({ trx, clock, gathered }) {
    const outcomes = (gathered ?? []) as DeliveryOutcome[];
    const now = clock.now();
    for (const outcome of outcomes) {
      await recordDeliveryAttempt(trx, outcome.delivery_id, {
        ok: outcome.ok,
        responseStatus: outcome.response_status,
        error: outcome.error,
        now,
        nextAttemptAt: outcome.ok ? null : nextAttemptAfter(outcome.attempts, now),
      });
    }
    const failed = outcomes.filter((outcome) => !outcome.ok).length;
    return `sent ${outcomes.length - failed} alert notifications, ${failed} failed`;
  },
};
