import type { Kysely } from 'kysely';
import Stripe from 'stripe';
import type { Database } from '../../db/types.ts';
import { rollupWatermark } from '../../db/usage-aggregates.repository.ts';
import {
  insertMeterReports,
  leaseDueReports,
  type MeterReport,
  type MeterSource,
  markHoursReported,
  markReportFailed,
  markReportRetry,
  markReportSent,
  meterHourTotals,
  type NewMeterReport,
  tryPlannerLock,
  unreportedHours,
} from '../../db/usage-reports.repository.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import type { Logger } from '../../lib/logger.ts';
import { planFor } from '../../schemas/plans.ts';
import { listResourceTypes } from '../../schemas/resource-types/registry.ts';
import { meterFor, usageMetric, usageMetrics } from '../../schemas/usage-metrics.ts';
import { meterEventName } from '../billing/catalogue.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Stripe refuses meter events older than 35 days; corrections of older hours are dated this far back. */
const OLDEST_TIMESTAMP_MS = 34 * DAY_MS;
const PLAN_BATCH = 5000;
const SEND_BATCH = 100;
const LEASE_MS = 60_000;
/** Backoff of a report Stripe did not take (429, 5xx, network): 30 s doubling, at most an hour. */
const backoffMs = (attempts: number) => Math.min(30_000 * 2 ** Math.max(0, attempts - 1), HOUR_MS);

/** Every (metric, resource type) → meter pair, with the metric's divisor (API calls per 1,000). */
export function meterSources(): MeterSource[] {
  const types = listResourceTypes().map((type) => type.name);
  return usageMetrics.flatMap((metric) =>
    metric.meter_per_resource_type
      ? types.map((type) => ({
          metric: metric.name,
          resource_type: type,
          meter: meterFor(metric, type),
          divisor: metric.meter_divisor,
        }))
      : [
          {
            metric: metric.name,
            resource_type: '',
            meter: meterFor(metric, null),
            divisor: metric.meter_divisor,
          },
        ],
  );
}

/**
 * The meter event identifier of one revision of one hour: deterministic, so a re-run plans the
 * same name and Stripe (which refuses a known identifier) can never count it twice.
 */
export async function meterEventIdentifier(
  account: { scope_type: string; scope_id: string },
  meter: string,
  hour: Date,
  revision: number,
): Promise<string> {
  const stamp = hour.toISOString().slice(0, 13).replace(/[-T]/g, '');
  const readable = `ktrl-${account.scope_type === 'project' ? 'p' : 'o'}-${account.scope_id}-${meter}-${stamp}-r${revision}`;
  if (readable.length <= 100) return readable;
  return `ktrl-${(await sha256Hex(`${account.scope_type}/${account.scope_id}/${meter}/${stamp}`)).slice(0, 48)}-${stamp}-r${revision}`;
}

export interface PlanSummary {
  planned: number;
  hours: number;
  skipped: boolean;
}

/**
 * Turns closed hours into meter events in the outbox, in one short transaction under its own
 * advisory lock (overlapping runs: the second plans nothing). An hour is closed once it ended
 * `delayMinutes` before the rollup's watermark. For each (account, meter, hour) whose aggregates
 * changed since they were last planned: the hour's total in the meter's unit minus what the
 * outbox already carries becomes a new revision with that difference (a correction, positive or
 * negative; never a second event for what was sent). Accounts without a Stripe customer, or whose
 * plan has no price on the meter, get nothing and their hours are marked done.
 */
export async function planMeterReports(
  db: Kysely<Database>,
  now: Date,
  delayMinutes: number,
): Promise<PlanSummary> {
  const watermark = await rollupWatermark(db);
  if (!watermark) return { planned: 0, hours: 0, skipped: false };
  const closedBefore = new Date(
    Math.floor((watermark.getTime() - delayMinutes * 60_000) / HOUR_MS) * HOUR_MS,
  );
  const sources = meterSources();
  return db.transaction().execute(async (trx) => {
    if (!(await tryPlannerLock(trx))) return { planned: 0, hours: 0, skipped: true };
    let planned = 0;
    let hours = 0;
    // Bounded: rows the rollup changes meanwhile stay due for the next run.
    for (let round = 0; round < 50; round++) {
      const rows = await unreportedHours(trx, closedBefore, PLAN_BATCH);
      if (rows.length === 0) break;
      hours += rows.length;
      const keys = new Map<string, { scope_type: string; scope_id: string; meter: string; hour: Date }>();
      for (const row of rows) {
        const metric = usageMetric(row.metric);
        if (!metric) continue;
        const meter = meterFor(metric, row.resource_type);
        keys.set(`${row.scope_type}/${row.scope_id}/${meter}/${row.hour.getTime()}`, {
          scope_type: row.scope_type,
          scope_id: row.scope_id,
          meter,
          hour: row.hour,
        });
      }
      const reports: NewMeterReport[] = [];
      for (const total of await meterHourTotals(trx, [...keys.values()], sources)) {
        if (!total.stripe_customer_id || Number(total.difference) === 0) continue;
        if (!planFor(total.plan ?? 'free').metered[total.meter]) continue;
        const revision = total.revision + 1;
        reports.push({
          identifier: await meterEventIdentifier(total, total.meter, total.hour, revision),
          scope_type: total.scope_type,
          scope_id: total.scope_id,
          stripe_customer_id: total.stripe_customer_id,
          meter: total.meter,
          event_name: meterEventName(total.meter),
          hour: total.hour,
          revision,
          value: total.difference,
          total: total.total,
          event_timestamp: new Date(Math.max(total.hour.getTime(), now.getTime() - OLDEST_TIMESTAMP_MS)),
        });
      }
      await insertMeterReports(trx, reports, now);
      await markHoursReported(trx, rows);
      planned += reports.length;
      if (rows.length < PLAN_BATCH) break;
    }
    return { planned, hours, skipped: false };
  });
}

export interface SendSummary {
  sent: number;
  retried: number;
  failed: number;
  rateLimited: boolean;
}

function isAlreadyRecorded(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    /already exists with identifier/i.test(error.message)
  );
}

function isRetryable(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500) ||
    !(error instanceof Stripe.errors.StripeError)
  );
}

/**
 * Sends due outbox rows to Stripe, oldest hour first, each leased before it is sent. Each event
 * carries its identifier, an explicit timestamp and the identifier as idempotency key, so a run
 * killed after Stripe took an event but before it was marked sent re-sends the same request:
 * Stripe replays its answer (or, after 24 h, refuses the known identifier, which counts as sent).
 * A 429 stops the run (the rest are released and wait their backoff); 5xx and network errors are
 * retried with backoff; any other refusal marks the row failed (reconciliation shows the drift).
 * Runs outside any transaction: no connection is held while Stripe answers.
 */
export async function sendDueReports(
  db: Kysely<Database>,
  stripe: Stripe,
  now: () => Date,
  log: Logger,
  options: { maxBatches?: number } = {},
): Promise<SendSummary> {
  const summary: SendSummary = { sent: 0, retried: 0, failed: 0, rateLimited: false };
  for (let batch = 0; batch < (options.maxBatches ?? 1000); batch++) {
    const due = await leaseDueReports(db, now(), LEASE_MS, SEND_BATCH);
    if (due.length === 0) break;
    for (const [index, report] of due.entries()) {
      if (summary.rateLimited) {
        await markReportRetry(
          db,
          report.identifier,
          new Date(now().getTime() + backoffMs(report.attempts)),
          'not sent: Stripe rate limit',
        );
        continue;
      }
      const outcome = await sendOne(stripe, report);
      if (outcome === 'sent') {
        await markReportSent(db, report.identifier, now());
        summary.sent++;
      } else if (outcome instanceof Error && isRetryable(outcome)) {
        summary.retried++;
        summary.rateLimited = outcome instanceof Stripe.errors.StripeRateLimitError;
        await markReportRetry(
          db,
          report.identifier,
          new Date(now().getTime() + backoffMs(report.attempts)),
          outcome.message,
        );
        log.warn('meter event not taken; retrying later', {
          identifier: report.identifier,
          attempts: report.attempts,
          err: outcome,
          rest_of_batch: due.length - index - 1,
        });
      } else {
        summary.failed++;
        await markReportFailed(
          db,
          report.identifier,
          outcome instanceof Error ? outcome.message : String(outcome),
        );
        log.error('meter event refused by Stripe', { identifier: report.identifier, err: outcome });
      }
    }
    if (summary.rateLimited) break;
  }
  return summary;
}

async function sendOne(stripe: Stripe, report: MeterReport): Promise<'sent' | Error> {
  try {
    await stripe.billing.meterEvents.create(
      {
        event_name: report.event_name,
        identifier: report.identifier,
        timestamp: Math.floor(report.event_timestamp.getTime() / 1000),
        payload: { stripe_customer_id: report.stripe_customer_id, value: normaliseDecimal(report.value) },
      },
      { idempotencyKey: `meter-event-${report.identifier}` },
    );
    return 'sent';
  } catch (error) {
    if (isAlreadyRecorded(error)) return 'sent';
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** '1.500000' → '1.5': Stripe takes at most 15 significant digits; trailing zeros only cost some. */
export function normaliseDecimal(value: string): string {
  return value.includes('.') ? value.replace(/\.?0+$/, '') : value;
}
