import type { Kysely } from 'kysely';
import {
  type AccountKey,
  type BillingAccount,
  findBillingAccount,
  listSubscriptions,
  type SubscriptionRow,
} from '../../db/billing.repository.ts';
import type { Database } from '../../db/types.ts';
import { AppError } from '../../lib/errors.ts';
import { metricLabel } from '../../lib/metric-label.ts';
import type { Plan } from '../../schemas/plans.ts';
import { usageMetric } from '../../schemas/usage-metrics.ts';
import { notify } from '../notifications.ts';
import { usageSeries } from '../usage/series.ts';
import { totalsOf } from './cost.ts';
import { type BillingPolicy, effectivePlan } from './policy.ts';

/** Percentages of a quota at which billing members are told (in-app and by email), once each per period. */
export const QUOTA_THRESHOLDS = [50, 80, 100] as const;

export interface BillingPeriod {
  start: Date;
  /** Exclusive. */
  end: Date;
}

/**
 * The account's current billing period: the subscription's (Stripe's) when it has one, otherwise
 * the UTC calendar month — free accounts' quotas reset on the first of the month.
 */
export function billingPeriodOf(
  subscription: Pick<SubscriptionRow, 'current_period_start' | 'current_period_end'> | null | undefined,
  now: Date,
): BillingPeriod {
  const start = subscription?.current_period_start;
  const end = subscription?.current_period_end;
  // Not yet ended is enough: Stripe's clock may run a few seconds ahead of ours at the start.
  if (start && end && now < end) return { start, end };
  return {
    start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)),
  };
}

export interface AccountBilling {
  account: BillingAccount | undefined;
  subscription: SubscriptionRow | null;
  plan: Plan;
  period: BillingPeriod;
}

/** An account's plan and current period (two reads). */
export async function accountBilling(
  db: Kysely<Database>,
  key: AccountKey,
  policy: BillingPolicy,
  now: Date,
): Promise<AccountBilling> {
  const account = await findBillingAccount(db, key);
  const subscription = account?.stripe_subscription_id
    ? ((await listSubscriptions(db, key)).find(
        (s) => s.stripe_subscription_id === account.stripe_subscription_id,
      ) ?? null)
    : null;
  return {
    account,
    subscription,
    plan: effectivePlan(account, policy),
    period: billingPeriodOf(subscription, now),
  };
}

export interface QuotaUsage {
  metric: string;
  unit: string;
  used: number;
  limit: number;
  hard: boolean;
  /** used ÷ limit × 100, unrounded. */
  percent: number;
  exceeded: boolean;
}

/** Usage against each quota of the plan, from totals of the period so far. */
export function quotasOf(
  plan: Plan,
  totals: ReadonlyArray<{ metric: string; quantity: number }>,
): QuotaUsage[] {
  return Object.entries(plan.quotas).map(([metric, quota]) => {
    const used = totals.filter((t) => t.metric === metric).reduce((sum, t) => sum + t.quantity, 0);
    return {
      metric,
      unit: usageMetric(metric)?.unit ?? 'unit',
      used,
      limit: quota.per_period,
      hard: quota.hard,
      percent: (used / quota.per_period) * 100,
      exceeded: used >= quota.per_period,
    };
  });
}

/** Usage of the plan's quota metrics in `period` (the rolled-up hours: a minute or two behind). */
export async function quotaUsage(
  db: Kysely<Database>,
  key: AccountKey,
  plan: Plan,
  period: BillingPeriod,
): Promise<QuotaUsage[]> {
  const metrics = Object.keys(plan.quotas);
  if (metrics.length === 0) return [];
  const rows = (
    await Promise.all(
      metrics.map((metric) =>
        usageSeries(db, key, { from: period.start, to: period.end, granularity: 'day', metric }),
      ),
    )
  ).flat();
  return quotasOf(plan, totalsOf(rows));
}

/** The highest threshold a quota has reached, if any. */
export function reachedThreshold(quota: Pick<QuotaUsage, 'percent'>): number | null {
  let reached: number | null = null;
  for (const threshold of QUOTA_THRESHOLDS) if (quota.percent >= threshold) reached = threshold;
  return reached;
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const day = (date: Date) => date.toISOString().slice(0, 10);

function plural(unit: string, n: number): string {
  return n === 1 || unit.endsWith('s') ? unit : `${unit}s`;
}

/**
 * Tells the account's billing members (manage_billing on the organization) that a quota reached
 * 50, 80 or 100 %: in-app and by email. Only the highest threshold reached is announced (usage that
 * jumps past two at once makes one notification, not two).
 *
 * Idempotency: the dedupe key names account, metric, period and threshold, and notify() inserts
 * it once per user — the job may run every few minutes, twice at once or again after a crash.
 */
export async function announceQuotaThresholds(
  trx: Kysely<Database>,
  args: {
    key: AccountKey;
    orgId: string;
    plan: Plan;
    period: BillingPeriod;
    quotas: QuotaUsage[];
    now: Date;
    baseUrl: string;
  },
): Promise<number> {
  let created = 0;
  for (const quota of args.quotas) {
    const threshold = reachedThreshold(quota);
    if (threshold === null) continue;
    const label = usageMetric(quota.metric)?.description ?? quota.metric;
    const what = `${numberFormat.format(quota.used)} of ${numberFormat.format(quota.limit)} ${plural(quota.unit, quota.limit)}`;
    const consequence =
      threshold < 100
        ? quota.hard
          ? 'When the quota is used up, further calls are refused (HTTP 429) until the period ends.'
          : 'Usage beyond the quota is billed at the plan’s prices.'
        : quota.hard
          ? `The quota is used up: further calls are refused (HTTP 429) until ${day(args.period.end)}. Upgrade the plan to continue now.`
          : 'The quota is used up; usage beyond it is billed at the plan’s prices.';
    const rows = await notify(trx, {
      orgId: args.orgId,
      projectId: args.key.scope_type === 'project' ? args.key.scope_id : null,
      audience: 'billing',
      kind: 'usage.quota',
      title: `${metricLabel(quota.metric)}: ${threshold}% of this period's quota used`,
      body: `${what} used (${Math.floor(quota.percent)}%) on the ${args.plan.display_name} plan, period ${day(args.period.start)} to ${day(args.period.end)} (UTC). ${label} ${consequence}`,
      link:
        args.key.scope_type === 'organization'
          ? `/organizations/${args.key.scope_id}/billing`
          : `/projects/${args.key.scope_id}/billing`,
      dedupeKey: `quota:${args.key.scope_type}:${args.key.scope_id}:${quota.metric}:${args.period.start.toISOString()}:${threshold}`,
      now: args.now,
      baseUrl: args.baseUrl,
    });
    created += rows.length;
  }
  return created;
}

/** How long a quota decision is reused before usage is read again. */
export const QUOTA_CACHE_MS = 30_000;

interface GateDecision {
  blocked: AppError | null;
  expires: number;
}

/**
 * The hard API-call quota at the door of /api/v1: answers whether an organization's calls are to
 * be refused. Decisions are cached per organization for QUOTA_CACHE_MS (one usage read per
 * organization per 30 s, not a query per request; concurrent misses share one read), so an
 * organization may run a few seconds — plus the usage pipeline's flush and rollup delay — past its
 * quota before the 429s start. Counted against the organization's own billing account.
 */
export class ApiQuotaGate {
  private readonly decisions = new Map<string, GateDecision | Promise<GateDecision>>();

  constructor(
    private readonly policy: BillingPolicy,
    private readonly baseUrl: string,
  ) {}

  /**
   * Throws the 429 when the organization is past a hard API-call quota. `db` is the caller's (on
   * Workers a connection lives for one request, while the gate lives as long as the isolate).
   */
  async check(db: Kysely<Database>, orgId: string, now: Date): Promise<void> {
    let decision = this.decisions.get(orgId);
    if (!decision || (!(decision instanceof Promise) && decision.expires <= now.getTime())) {
      decision = this.decide(db, orgId, now);
      this.decisions.set(orgId, decision);
      decision.then(
        (settled) => this.decisions.set(orgId, settled),
        () => this.decisions.delete(orgId),
      );
    }
    const { blocked } = await decision;
    if (blocked) throw blocked;
  }

  /** Forgets cached decisions (after a plan change, or in tests). */
  forget(orgId?: string): void {
    if (orgId) this.decisions.delete(orgId);
    else this.decisions.clear();
  }

  private async decide(db: Kysely<Database>, orgId: string, now: Date): Promise<GateDecision> {
    const expires = now.getTime() + QUOTA_CACHE_MS;
    const key: AccountKey = { scope_type: 'organization', scope_id: orgId };
    const { plan, period } = await accountBilling(db, key, this.policy, now);
    const quota = plan.quotas.api_calls;
    if (!quota?.hard) return { blocked: null, expires };
    const [usage] = await quotaUsage(db, key, { ...plan, quotas: { api_calls: quota } }, period);
    if (!usage?.exceeded) return { blocked: null, expires };
    const retryAfter = Math.max(1, Math.ceil((period.end.getTime() - now.getTime()) / 1000));
    const billingUrl = new URL(`/organizations/${orgId}/billing`, this.baseUrl).toString();
    return {
      expires,
      blocked: new AppError(
        429,
        'API call quota exceeded',
        `This organization has used its ${numberFormat.format(quota.per_period)} API calls of the ${plan.display_name} plan for the period ending ${day(period.end)} (UTC). API calls are refused until then; upgrade the plan at ${billingUrl} to continue now.`,
        [],
        { 'Retry-After': String(retryAfter) },
        {
          quota: quota.per_period,
          used: usage.used,
          period_end: period.end.toISOString(),
          billing_url: billingUrl,
        },
      ),
    };
  }
}

const gates = new WeakMap<object, ApiQuotaGate>();

/**
 * One gate per configuration object: the process's on Node, the isolate's on Workers (where the
 * app and its deps are made per request but the parsed config lives as long as the isolate), so
 * decisions are shared between requests there too. Made on first use.
 */
export function apiQuotaGateFor(config: { BASE_URL: string }, policy: BillingPolicy): ApiQuotaGate {
  let gate = gates.get(config);
  if (!gate) {
    gate = new ApiQuotaGate(policy, config.BASE_URL);
    gates.set(config, gate);
  }
  return gate;
}
