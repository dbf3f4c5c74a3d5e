import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import { type AccountKey, accountsWithCustomers } from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { rollupWatermark } from '../../db/usage-aggregates.repository.ts';
import {
  meterTotalsForPeriod,
  reconciliationsOf,
  reportedPerHour,
  saveReconciliation,
} from '../../db/usage-reports.repository.ts';
import type { Logger } from '../../lib/logger.ts';
import { planFor } from '../../schemas/plans.ts';
import { recordAudit } from '../audit.ts';
import { orgOfAccount } from '../billing/accounts.ts';
import { meterEventName } from '../billing/catalogue.ts';
import { STRIPE_ACTOR } from '../billing/stripe-sync.ts';
import { meterSources } from './reporting.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Differences below this (in a meter's unit) are rounding, not drift. */
const TOLERANCE = 1e-6;

export interface ReconcileSummary {
  accounts: number;
  periods: number;
  drifting: number;
  failed: number;
}

/**
 * Compares, per account with a Stripe customer, per meter its plan prices and per UTC day of the
 * last `days` days (up to the last closed hour), our totals with Stripe's meter event summaries.
 * The comparison is stored (ktrlplane.usage_reconciliations, which the billing dashboard shows);
 * an unexplained drift — one that events still waiting in the outbox do not account for — writes
 * an audit event `billing.usage_drift` when it appears or changes. Stripe calls run outside any
 * transaction; one failing account does not stop the others.
 */
export async function reconcileUsage(
  db: Kysely<Database>,
  stripe: Stripe,
  now: Date,
  options: { days: number; delayMinutes: number },
  log: Logger,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { accounts: 0, periods: 0, drifting: 0, failed: 0 };
  const watermark = await rollupWatermark(db);
  if (!watermark) return summary;
  const closedBefore = Math.floor((watermark.getTime() - options.delayMinutes * 60_000) / HOUR_MS) * HOUR_MS;
  const meterIds = new Map<string, string>();
  for await (const meter of stripe.billing.meters.list({ status: 'active', limit: 100 })) {
    meterIds.set(meter.event_name, meter.id);
  }
  const sources = meterSources();
  const today = Math.floor(closedBefore / DAY_MS) * DAY_MS;
  for (const account of await accountsWithCustomers(db)) {
    summary.accounts++;
    const meters = Object.keys(planFor(account.plan).metered);
    try {
      for (let day = today - (options.days - 1) * DAY_MS; day <= today; day += DAY_MS) {
        const from = new Date(day);
        const to = new Date(Math.min(day + DAY_MS, closedBefore));
        if (to <= from) continue;
        const ours = await meterTotalsForPeriod(db, account, from, to, sources);
        const outbox = await reportedPerHour(db, account, from, to);
        for (const meter of meters) {
          const meterId = meterIds.get(meterEventName(meter));
          if (!meterId) continue;
          let stripeTotal = 0;
          for await (const window of stripe.billing.meters.listEventSummaries(meterId, {
            customer: account.stripe_customer_id as string,
            start_time: Math.floor(from.getTime() / 1000),
            end_time: Math.floor(to.getTime() / 1000),
            value_grouping_window: 'hour',
            limit: 100,
          })) {
            stripeTotal += window.aggregated_value;
          }
          const ourTotal = Number(ours.get(meter) ?? 0);
          const unsent = outbox
            .filter((row) => row.meter === meter)
            .reduce((sum, row) => sum + Number(row.unsent), 0);
          const drift = ourTotal - stripeTotal;
          const previous = await saveReconciliation(db, {
            scope_type: account.scope_type,
            scope_id: account.scope_id,
            meter,
            period_start: from,
            period_end: to,
            ours: ourTotal.toFixed(6),
            stripe: stripeTotal.toFixed(6),
            unsent: unsent.toFixed(6),
            drift: drift.toFixed(6),
            checked_at: now,
          });
          summary.periods++;
          const unexplained = drift - unsent;
          if (Math.abs(unexplained) > TOLERANCE) {
            summary.drifting++;
            if (previous === null || Math.abs(Number(previous) - unexplained) > TOLERANCE) {
              await recordAudit(
                db,
                STRIPE_ACTOR,
                {
                  action: 'billing.usage_drift',
                  targetType: account.scope_type,
                  targetId: account.scope_id,
                  orgId: await orgOfAccount(db, account),
                  after: {
                    meter,
                    period_start: from.toISOString(),
                    period_end: to.toISOString(),
                    ours: ourTotal,
                    stripe: stripeTotal,
                    unsent,
                    drift,
                  },
                },
                now,
              );
            }
          }
        }
      }
    } catch (error) {
      summary.failed++;
      log.warn('usage reconciliation failed for an account', {
        err: error,
        scope_type: account.scope_type,
        scope_id: account.scope_id,
      });
    }
  }
  return summary;
}

export interface ReconciliationPeriod {
  meter: string;
  period_start: Date;
  period_end: Date;
  ours: number;
  stripe: number;
  /** Still in the outbox (pending or failed): explains that much of the drift. */
  unsent: number;
  drift: number;
  /** Drift the outbox does not explain. */
  unexplained: number;
}

export interface LatestReconciliation {
  checked_at: Date | null;
  /** True when no period has unexplained drift (also when nothing was checked yet). */
  ok: boolean;
  periods: ReconciliationPeriod[];
}

/**
 * What the last reconciliation found for one account: its periods (newest first), with drift.
 * For the billing dashboard. Tenancy: the caller has checked the principal may read the account.
 */
export async function latestReconciliation(
  db: Kysely<Database>,
  account: AccountKey,
): Promise<LatestReconciliation> {
  const rows = await reconciliationsOf(db, account, 200);
  const periods = rows.map((row) => {
    const drift = Number(row.drift);
    const unsent = Number(row.unsent);
    const unexplained = Math.abs(drift - unsent) > TOLERANCE ? Number((drift - unsent).toFixed(6)) : 0;
    return {
      meter: row.meter,
      period_start: row.period_start,
      period_end: row.period_end,
      ours: Number(row.ours),
      stripe: Number(row.stripe),
      unsent,
      drift,
      unexplained,
    };
  });
  const checkedAt = rows.reduce<Date | null>(
    (latest, row) => (latest === null || row.checked_at > latest ? row.checked_at : latest),
    null,
  );
  return { checked_at: checkedAt, ok: periods.every((period) => period.unexplained === 0), periods };
}
