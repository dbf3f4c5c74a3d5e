import type { MeteredPrice, Plan } from '../../schemas/plans.ts';
import { meterFor, type UsageMetric, usageMetric } from '../../schemas/usage-metrics.ts';

/**
 * The cost engine: usage → money with a plan's prices. Pure (no database, no clock), so every
 * figure on the billing dashboard can be checked by hand.
 *
 * Amounts are in the smallest currency unit (cents) as fractional numbers; round only to display.
 * Usage is priced per Stripe meter (src/schemas/usage-metrics.ts `meterFor`: instance-hours per
 * resource type, one meter for the rest), in the meter's unit (metric quantity ÷ meter_divisor,
 * e.g. API calls per 1,000): first the free allowance (`included`), then the price — one unit
 * amount, or graduated tiers over the units beyond the allowance. A meter's amount is shared out
 * over the resources that used it in proportion to their usage (allowances and tiers belong to the
 * account, not to one resource). Metrics without a price in the plan cost nothing and are listed
 * with amount 0.
 *
 * This mirrors what Stripe invoices from the meter events; Stripe stays the authority for invoices.
 */

/** A metric's total use by one resource (or by the account: resource_id null) in a period. */
export interface UsageTotal {
  metric: string;
  resource_id: string | null;
  resource_type: string | null;
  quantity: number;
}

export interface MeterCost {
  meter: string;
  metric: string;
  /** The resource type a per-type meter is for; null for account-wide meters. */
  resource_type: string | null;
  /** In the metric's unit. */
  quantity: number;
  /** In the meter's (price's) unit. */
  meter_quantity: number;
  included: number;
  billable: number;
  unit: string;
  amount: number;
  priced: boolean;
}

export interface ResourceCost {
  resource_id: string | null;
  resource_type: string | null;
  amount: number;
}

export interface CostBreakdown {
  currency: string;
  /** The plan's flat price for the period. */
  base_amount: number;
  usage_amount: number;
  total: number;
  meters: MeterCost[];
  by_metric: Array<{ metric: string; quantity: number; amount: number }>;
  by_resource_type: Array<{ resource_type: string | null; amount: number }>;
  by_resource: ResourceCost[];
}

/** Amount for `units` of a meter (after nothing is subtracted): allowance first, then price or tiers. */
export function priceUnits(price: MeteredPrice, units: number): { billable: number; amount: number } {
  const billable = Math.max(0, units - price.included);
  if (!price.tiers) return { billable, amount: billable * price.unit_amount };
  let amount = 0;
  let floor = 0;
  for (const tier of price.tiers) {
    const ceiling = tier.up_to ?? Number.POSITIVE_INFINITY;
    const inTier = Math.max(0, Math.min(billable, ceiling) - floor);
    amount += inTier * tier.unit_amount;
    if (billable <= ceiling) break;
    floor = ceiling;
  }
  return { billable, amount };
}

/**
 * Folds period rows (any granularity) into one total per (metric, resource) with the metric's
 * aggregation: sums for sum/count/unique_count (a unique count is billed per hour), the largest
 * for max, the latest for last (rows must come in time order, as usageSeries returns them).
 */
export function totalsOf(
  rows: Iterable<{
    metric: string;
    resource_id: string | null;
    resource_type: string | null;
    quantity: number;
  }>,
): UsageTotal[] {
  const totals = new Map<string, UsageTotal>();
  for (const row of rows) {
    const key = `${row.metric}\u0000${row.resource_id ?? ''}`;
    const aggregation = usageMetric(row.metric)?.aggregation ?? 'sum';
    const existing = totals.get(key);
    if (!existing) {
      totals.set(key, {
        metric: row.metric,
        resource_id: row.resource_id,
        resource_type: row.resource_type,
        quantity: row.quantity,
      });
      continue;
    }
    if (row.resource_type) existing.resource_type = row.resource_type;
    if (aggregation === 'max') existing.quantity = Math.max(existing.quantity, row.quantity);
    else if (aggregation === 'last') existing.quantity = row.quantity;
    else existing.quantity += row.quantity;
  }
  return [...totals.values()];
}

function metricOf(name: string): UsageMetric {
  return (
    usageMetric(name) ?? {
      name,
      unit: 'unit',
      aggregation: 'sum',
      description: name,
      source: 'reported',
      meter_divisor: 1,
      meter_per_resource_type: false,
    }
  );
}

function addTo<K>(map: Map<K, number>, key: K, amount: number) {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/** What the plan charges for `usage` in one billing period (base price included). */
export function costOf(plan: Plan, usage: readonly UsageTotal[]): CostBreakdown {
  // Group usage by meter.
  const byMeter = new Map<
    string,
    { metric: UsageMetric; resourceType: string | null; totals: UsageTotal[] }
  >();
  for (const total of usage) {
    const metric = metricOf(total.metric);
    const meter = meterFor(metric, total.resource_type);
    const group = byMeter.get(meter) ?? {
      metric,
      resourceType: metric.meter_per_resource_type ? total.resource_type : null,
      totals: [],
    };
    group.totals.push(total);
    byMeter.set(meter, group);
  }

  const meters: MeterCost[] = [];
  const perResource = new Map<string, ResourceCost>();
  const perMetric = new Map<string, { quantity: number; amount: number }>();
  for (const [meter, group] of [...byMeter.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const quantity = group.totals.reduce((sum, t) => sum + t.quantity, 0);
    const meterQuantity = quantity / group.metric.meter_divisor;
    const price = plan.metered[meter];
    const { billable, amount } = price ? priceUnits(price, meterQuantity) : { billable: 0, amount: 0 };
    meters.push({
      meter,
      metric: group.metric.name,
      resource_type: group.resourceType,
      quantity,
      meter_quantity: meterQuantity,
      included: price?.included ?? 0,
      billable,
      unit: price?.unit ?? group.metric.unit,
      amount,
      priced: Boolean(price),
    });
    const metricEntry = perMetric.get(group.metric.name) ?? { quantity: 0, amount: 0 };
    metricEntry.quantity += quantity;
    metricEntry.amount += amount;
    perMetric.set(group.metric.name, metricEntry);
    for (const total of group.totals) {
      const key = total.resource_id ?? '';
      const share = quantity > 0 ? (amount * total.quantity) / quantity : 0;
      const entry = perResource.get(key) ?? {
        resource_id: total.resource_id,
        resource_type: total.resource_type,
        amount: 0,
      };
      entry.amount += share;
      entry.resource_type ??= total.resource_type;
      perResource.set(key, entry);
    }
  }

  const byType = new Map<string | null, number>();
  for (const entry of perResource.values()) addTo(byType, entry.resource_type, entry.amount);
  const usageAmount = meters.reduce((sum, m) => sum + m.amount, 0);
  const baseAmount = plan.base_price?.unit_amount ?? 0;
  const byAmount = (a: { amount: number }, b: { amount: number }) => b.amount - a.amount;
  return {
    currency: plan.currency,
    base_amount: baseAmount,
    usage_amount: usageAmount,
    total: baseAmount + usageAmount,
    meters,
    by_metric: [...perMetric.entries()].map(([metric, v]) => ({ metric, ...v })).sort(byAmount),
    by_resource_type: [...byType.entries()]
      .map(([resource_type, amount]) => ({ resource_type, amount }))
      .sort(byAmount),
    by_resource: [...perResource.values()].sort(byAmount),
  };
}

/**
 * Usage expected by the end of the period: what was used so far plus, for the time left, the rate
 * of the recent window (the last days, so a resource deleted or scaled down last week no longer
 * counts at its old rate). Max and last metrics stay at their value so far.
 */
export function projectUsage(args: {
  soFar: readonly UsageTotal[];
  /** Totals of the recent window (a suffix of the period so far). */
  recent: readonly UsageTotal[];
  recentMs: number;
  remainingMs: number;
}): UsageTotal[] {
  const recentByKey = new Map(
    args.recent.map((t) => [`${t.metric}\u0000${t.resource_id ?? ''}`, t.quantity]),
  );
  const projected = args.soFar.map((total) => {
    const aggregation = usageMetric(total.metric)?.aggregation ?? 'sum';
    if (aggregation === 'max' || aggregation === 'last' || args.recentMs <= 0) return { ...total };
    const rate = (recentByKey.get(`${total.metric}\u0000${total.resource_id ?? ''}`) ?? 0) / args.recentMs;
    return { ...total, quantity: total.quantity + rate * Math.max(0, args.remainingMs) };
  });
  return projected;
}

/**
 * Cumulative cost at the end of each day of the period so far (base price included from day one):
 * the cost of the usage up to that day, so allowances and tiers apply as they will on the invoice.
 */
export function cumulativeCost(
  plan: Plan,
  dailyRows: ReadonlyArray<{
    period_start: Date;
    metric: string;
    resource_id: string | null;
    resource_type: string | null;
    quantity: number;
  }>,
  days: readonly Date[],
): Array<{ t: Date; amount: number }> {
  const sorted = [...dailyRows].sort((a, b) => a.period_start.getTime() - b.period_start.getTime());
  const points: Array<{ t: Date; amount: number }> = [];
  let taken = 0;
  const upTo: typeof sorted = [];
  for (const day of days) {
    while (taken < sorted.length && (sorted[taken] as (typeof sorted)[number]).period_start <= day) {
      upTo.push(sorted[taken] as (typeof sorted)[number]);
      taken++;
    }
    points.push({ t: day, amount: costOf(plan, totalsOf(upTo)).total });
  }
  return points;
}
