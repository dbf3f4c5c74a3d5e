import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import {
  type AccountKey,
  countProjects,
  listInvoices,
  listResourcesOfAccount,
} from '../../db/billing.repository.ts';
import { lastActivityOfResources, projectsWithApiCallsSince } from '../../db/billing-usage.repository.ts';
import type { Database } from '../../db/types.ts';
import type { Logger } from '../../lib/logger.ts';
import { usageMetric, usageMetrics } from '../../schemas/usage-metrics.ts';
import { type LatestReconciliation, latestReconciliation } from '../usage/reconciliation.ts';
import { usageSeries } from '../usage/series.ts';
import { costOf, cumulativeCost, projectUsage, totalsOf } from './cost.ts';
import { IDLE_DAYS, type Insight, optimizationInsights } from './insights.ts';
import type { BillingPolicy } from './policy.ts';
import { accountBilling, type BillingPeriod, quotasOf } from './quotas.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface MetricUsage {
  metric: string;
  unit: string;
  description: string;
  quantity: number;
  quota: { limit: number; hard: boolean; percent: number } | null;
}

export interface DailyUsage {
  metric: string;
  unit: string;
  points: Array<{ t: Date; v: number | null }>;
}

export interface UpcomingInvoice {
  amount_due: number;
  currency: string;
  period_end: Date | null;
  lines: Array<{ description: string | null; amount: number }>;
}

export interface PaymentMethodSummary {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

export interface BillingDashboard {
  plan: { id: string; display_name: string };
  period: BillingPeriod;
  /** When the figures were computed (usage lags the rollup by a minute or two). */
  as_of: Date;
  currency: string;
  usage: MetricUsage[];
  daily_usage: DailyUsage[];
  cost: {
    base_amount: number;
    usage_amount: number;
    total: number;
    projected_usage_amount: number;
    projected_total: number;
    by_metric: Array<{ metric: string; quantity: number; amount: number }>;
    by_resource_type: Array<{ resource_type: string | null; amount: number }>;
    by_resource: Array<{
      resource_id: string | null;
      name: string;
      resource_type: string | null;
      amount: number;
      deleted: boolean;
    }>;
    /** Cost of the period up to the end of each day so far (base price included). */
    cumulative: Array<{ t: Date; amount: number }>;
  };
  upcoming_invoice: UpcomingInvoice | null;
  invoices: Array<{
    id: string;
    number: string | null;
    status: string;
    amount_due: number;
    amount_paid: number;
    currency: string;
    period_start: Date | null;
    period_end: Date | null;
    hosted_invoice_url: string | null;
    invoice_pdf: string | null;
    created_at: Date;
  }>;
  payment_method: PaymentMethodSummary | null;
  insights: Insight[];
  /**
   * Our totals against Stripe's meter event summaries (the reconciliation job), limited to the
   * periods that overlap this billing period: `ok` false when drift is not explained by events
   * still waiting in the outbox.
   */
  reconciliation: LatestReconciliation;
  /** Problems reaching Stripe for the live parts (the rest still shows). */
  stripe_error: string | null;
}

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Metrics shown on the dashboard: built-ins always, reported ones when used. */
function shownMetrics(totals: ReadonlyArray<{ metric: string }>): string[] {
  const used = new Set(totals.map((t) => t.metric));
  return usageMetrics.filter((m) => m.source === 'builtin' || used.has(m.name)).map((m) => m.name);
}

async function stripeParts(
  stripe: Stripe | null,
  customerId: string | null | undefined,
  subscriptionId: string | null | undefined,
  logger: Logger,
): Promise<{
  upcoming: UpcomingInvoice | null;
  paymentMethod: PaymentMethodSummary | null;
  error: string | null;
}> {
  if (!stripe || !customerId) return { upcoming: null, paymentMethod: null, error: null };
  try {
    const [preview, customer] = await Promise.all([
      subscriptionId
        ? stripe.invoices.createPreview({ customer: customerId, subscription: subscriptionId })
        : Promise.resolve(null),
      stripe.customers.retrieve(customerId),
    ]);
    const methodId =
      !customer.deleted && customer.invoice_settings?.default_payment_method
        ? customer.invoice_settings.default_payment_method
        : null;
    const method = methodId
      ? typeof methodId === 'string'
        ? await stripe.paymentMethods.retrieve(methodId)
        : methodId
      : null;
    return {
      upcoming: preview
        ? {
            amount_due: preview.amount_due,
            currency: preview.currency,
            period_end: preview.period_end ? new Date(preview.period_end * 1000) : null,
            lines: preview.lines.data.map((line) => ({ description: line.description, amount: line.amount })),
          }
        : null,
      paymentMethod: method?.card
        ? {
            brand: method.card.brand,
            last4: method.card.last4,
            exp_month: method.card.exp_month,
            exp_year: method.card.exp_year,
          }
        : null,
      error: null,
    };
  } catch (error) {
    logger.warn('billing dashboard: Stripe read failed', { err: error });
    return {
      upcoming: null,
      paymentMethod: null,
      error:
        'Stripe could not be reached: the invoice preview and payment method are missing. Reload to try again.',
    };
  }
}

/**
 * Everything the billing dashboard shows for one account, from the usage aggregates, the cost
 * engine, the Stripe mirror and (for the invoice preview and the payment method) Stripe itself.
 *
 * Tenancy: the caller has checked that the principal may read this account's billing (`read` on
 * its organization or project); every query here is keyed by the account.
 */
export async function billingDashboard(
  deps: { db: Kysely<Database>; stripe: Stripe | null; logger: Logger; policy: BillingPolicy },
  key: AccountKey,
  now: Date,
): Promise<BillingDashboard> {
  const { db } = deps;
  const { account, plan, period } = await accountBilling(db, key, deps.policy, now);
  const recentFrom = new Date(now.getTime() - IDLE_DAYS * DAY_MS);
  const [
    dailyRows,
    recentRows,
    resources,
    invoices,
    reported,
    projectsWithCalls,
    projectCount,
    stripe,
    reconciled,
  ] = await Promise.all([
    usageSeries(db, key, { from: period.start, to: period.end, granularity: 'day' }),
    usageSeries(db, key, { from: recentFrom, to: now, granularity: 'hour' }),
    listResourcesOfAccount(db, key),
    listInvoices(db, key, 24),
    lastActivityOfResources(
      db,
      key,
      usageMetrics.filter((m) => m.source === 'reported').map((m) => m.name),
      recentFrom,
    ),
    projectsWithApiCallsSince(db, key, recentFrom),
    key.scope_type === 'organization' ? countProjects(db, key.scope_id) : Promise.resolve(1),
    stripeParts(deps.stripe, account?.stripe_customer_id, account?.stripe_subscription_id, deps.logger),
    latestReconciliation(db, key),
  ]);
  const periods = reconciled.periods.filter(
    (p) => p.period_end > period.start && p.period_start < period.end,
  );

  const totals = totalsOf(dailyRows);
  const cost = costOf(plan, totals);
  // The projection's rate comes from the last days inside this period.
  const windowStart = new Date(Math.max(recentFrom.getTime(), period.start.getTime()));
  const windowRows = recentRows.filter((row) => row.period_start >= windowStart);
  const projected = costOf(
    plan,
    projectUsage({
      soFar: totals,
      recent: totalsOf(windowRows),
      recentMs: now.getTime() - windowStart.getTime(),
      remainingMs: period.end.getTime() - now.getTime(),
    }),
  );

  const days: Date[] = [];
  for (
    let day = startOfUtcDay(period.start);
    day <= now && day < period.end;
    day = new Date(day.getTime() + DAY_MS)
  )
    days.push(day);

  const metrics = shownMetrics(totals);
  const quotas = new Map(quotasOf(plan, totals).map((q) => [q.metric, q]));
  const usage = metrics.map((metric) => {
    const definition = usageMetric(metric);
    const quota = quotas.get(metric);
    return {
      metric,
      unit: definition?.unit ?? 'unit',
      description: definition?.description ?? metric,
      quantity: totals.filter((t) => t.metric === metric).reduce((sum, t) => sum + t.quantity, 0),
      quota: quota ? { limit: quota.limit, hard: quota.hard, percent: quota.percent } : null,
    };
  });
  const daily_usage = metrics.map((metric) => {
    // Across resources, a day's figure adds up (a max metric takes the largest resource).
    const combine = usageMetric(metric)?.aggregation === 'max' ? Math.max : (a: number, b: number) => a + b;
    const byDay = new Map<number, number>();
    for (const row of dailyRows) {
      if (row.metric !== metric) continue;
      const t = row.period_start.getTime();
      byDay.set(t, byDay.has(t) ? combine(byDay.get(t) as number, row.quantity) : row.quantity);
    }
    return {
      metric,
      unit: usageMetric(metric)?.unit ?? 'unit',
      // A past day without rows used nothing (0); days still to come have no bar at all.
      points: days.map((t) => ({ t, v: byDay.get(t.getTime()) ?? 0 })),
    };
  });

  const byId = new Map(resources.map((r) => [r.resource_id, r]));
  const insights = optimizationInsights({
    plan,
    now,
    resources,
    recent: totalsOf(recentRows),
    resourcesWithReportedUsage: new Set(reported.keys()),
    projectsWithApiCalls: projectsWithCalls,
    projectedTotal: projected.total,
    periodTotals: totals,
    projectCount,
  });

  return {
    plan: { id: plan.id, display_name: plan.display_name },
    period,
    as_of: now,
    currency: plan.currency,
    usage,
    daily_usage,
    cost: {
      base_amount: cost.base_amount,
      usage_amount: cost.usage_amount,
      total: cost.total,
      projected_usage_amount: projected.usage_amount,
      projected_total: projected.total,
      by_metric: cost.by_metric,
      by_resource_type: cost.by_resource_type,
      by_resource: cost.by_resource.map((entry) => {
        const resource = entry.resource_id ? byId.get(entry.resource_id) : undefined;
        return {
          ...entry,
          name:
            entry.resource_id === null ? 'Organization (API calls)' : (resource?.name ?? entry.resource_id),
          deleted: entry.resource_id !== null && (!resource || resource.deployment_state === 'deleting'),
        };
      }),
      cumulative: cumulativeCost(plan, dailyRows, days),
    },
    upcoming_invoice: stripe.upcoming,
    invoices: invoices.map((invoice) => ({
      id: invoice.stripe_invoice_id,
      number: invoice.number,
      status: invoice.status,
      amount_due: Number(invoice.amount_due),
      amount_paid: Number(invoice.amount_paid),
      currency: invoice.currency,
      period_start: invoice.period_start,
      period_end: invoice.period_end,
      hosted_invoice_url: invoice.hosted_invoice_url,
      invoice_pdf: invoice.invoice_pdf,
      created_at: invoice.created_at,
    })),
    payment_method: stripe.paymentMethod,
    insights,
    reconciliation: {
      checked_at: reconciled.checked_at,
      ok: periods.every((p) => p.unexplained === 0),
      periods,
    },
    stripe_error: stripe.error,
  };
}
