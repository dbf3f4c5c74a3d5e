import { z } from 'zod';
import { usageMetric } from './usage-metrics.ts';

/**
 * The plans an organization (or a project with its own billing account) can be on, with their
 * limits and how they map to Stripe. Prices are named by Stripe `lookup_key`, not by id, so the
 * same file works against any Stripe account (and the local Stripe server): an operator creates
 * prices with these lookup keys once. Validated when this module loads — a bad plan stops start-up.
 *
 * The money amounts are what the prices in Stripe are set to; the cost engine (usage issue) uses
 * them for projections, Stripe remains what invoices.
 */
export const PLAN_IDS = ['free', 'standard', 'premium'] as const;
export type PlanId = (typeof PLAN_IDS)[number];

const lookupKey = z.string().regex(/^[a-z0-9_]+$/, 'use lowercase letters, digits and underscores');

/** One step of a graduated price: units up to `up_to` (cumulative, after the free allowance) cost `unit_amount`. */
const priceTier = z.strictObject({
  up_to: z.number().positive().nullable(),
  unit_amount: z.number().nonnegative(),
});

const meteredPrice = z
  .strictObject({
    lookup_key: lookupKey,
    /** Unit of the meter, for display. */
    unit: z.string().min(1),
    /** Price per unit in the smallest currency unit (may be fractional, e.g. 0.5 cents). */
    unit_amount: z.number().nonnegative(),
    /** Units free each period before the price applies. */
    included: z.number().nonnegative().default(0),
    /**
     * Graduated tiers over the units beyond `included` (replacing `unit_amount`): each tier prices
     * the units between the previous tier's `up_to` and its own; the last tier has `up_to: null`.
     */
    tiers: z.array(priceTier).min(1).optional(),
  })
  .superRefine((price, ctx) => {
    if (!price.tiers) return;
    let previous = 0;
    for (const [index, tier] of price.tiers.entries()) {
      const last = index === price.tiers.length - 1;
      if (last !== (tier.up_to === null))
        ctx.addIssue({
          code: 'custom',
          message: 'only the last tier, and it always, has up_to: null',
          path: ['tiers', index, 'up_to'],
        });
      if (tier.up_to !== null && tier.up_to <= previous)
        ctx.addIssue({
          code: 'custom',
          message: 'tiers must have increasing up_to',
          path: ['tiers', index, 'up_to'],
        });
      previous = tier.up_to ?? previous;
    }
  });

export type MeteredPrice = z.infer<typeof meteredPrice>;

export const planSchema = z.strictObject({
  id: z.enum(PLAN_IDS),
  display_name: z.string().min(1),
  description: z.string().min(1),
  currency: z.string().length(3),
  /** Flat monthly price; null for the free plan (no subscription needed). */
  base_price: z
    .strictObject({ lookup_key: lookupKey, unit_amount: z.number().int().nonnegative() })
    .nullable(),
  /** Metered prices, by meter (the usage issue reports to these). */
  metered: z.record(z.string(), meteredPrice),
  limits: z.strictObject({
    projects: z.number().int().positive(),
    resources: z.number().int().positive(),
    /** SKUs resources may use. */
    skus: z.array(z.string().min(1)).min(1),
    /** Largest `instances` / `replicas` a resource may have. */
    instances: z.number().int().positive(),
    /** Days resource log lines are kept (whole day partitions are dropped after this). */
    log_retention_days: z.number().int().min(1).max(400),
  }),
  /**
   * Usage quotas per billing period, by metric (src/schemas/usage-metrics.ts): members with
   * billing rights are notified at 50, 80 and 100 %; with `hard: true` the usage is refused past
   * the quota (API calls answer 429) until the next period or a plan change.
   */
  quotas: z.record(
    z.string().regex(/^[a-z][a-z0-9_]*$/),
    z.strictObject({ per_period: z.number().int().positive(), hard: z.boolean() }),
  ),
  features: z.array(z.string().min(1)),
});

export type Plan = z.infer<typeof planSchema>;

/** The usage prices of the paid plans (by meter), in Stripe by these lookup keys. */
const payAsYouGo = {
  instance_hours_digital_twins: {
    lookup_key: 'standard_instance_hours_digital_twins',
    unit: 'instance-hour',
    unit_amount: 4,
    included: 0,
  },
  instance_hours_flows: {
    lookup_key: 'standard_instance_hours_flows',
    unit: 'instance-hour',
    unit_amount: 2,
    included: 0,
  },
  api_calls: {
    lookup_key: 'standard_api_calls_per_1000',
    unit: '1,000 API calls',
    unit_amount: 5,
    included: 1000,
  },
  storage_gb_hours: {
    lookup_key: 'standard_storage_gb_hours',
    unit: 'GB-hour',
    unit_amount: 0.02,
    included: 0,
  },
};

export const plans: Readonly<Record<PlanId, Plan>> = Object.freeze(
  z.record(z.enum(PLAN_IDS), planSchema).parse({
    free: {
      id: 'free',
      display_name: 'Free',
      description: 'For trying things out: small resources, no payment details needed.',
      currency: 'usd',
      base_price: null,
      metered: {},
      limits: { projects: 2, resources: 3, skus: ['free'], instances: 1, log_retention_days: 3 },
      // Nothing to pay with: the free quota is a hard one.
      quotas: { api_calls: { per_period: 100_000, hard: true } },
      features: [
        '2 projects',
        '3 resources',
        'Free SKUs, 1 instance each',
        '100,000 API calls a month',
        'Logs kept 3 days',
      ],
    },
    standard: {
      id: 'standard',
      display_name: 'Standard',
      description: 'For production: standard SKUs, high availability, event sinks, usage-based pricing.',
      currency: 'usd',
      base_price: { lookup_key: 'standard_base_monthly', unit_amount: 4900 },
      metered: payAsYouGo,
      limits: {
        projects: 20,
        resources: 100,
        skus: ['free', 'standard'],
        instances: 6,
        log_retention_days: 30,
      },
      // Paid usage: alerts only, calls past the quota are billed.
      quotas: { api_calls: { per_period: 10_000_000, hard: false } },
      features: [
        '20 projects',
        '100 resources',
        'Standard SKUs: up to 6 instances, event sinks',
        'Pay for instance-hours, API calls and storage as you go',
        'Logs kept 30 days',
      ],
    },
    premium: {
      id: 'premium',
      display_name: 'Premium',
      description: 'For fleets: many projects and resources, the same usage-based prices as Standard.',
      currency: 'usd',
      base_price: { lookup_key: 'premium_base_monthly', unit_amount: 19900 },
      // The same usage prices as Standard, with more API calls included.
      // More included calls make a different Stripe price (its free tier is larger): its own key.
      metered: {
        ...payAsYouGo,
        api_calls: { ...payAsYouGo.api_calls, lookup_key: 'premium_api_calls_per_1000', included: 10_000 },
      },
      limits: {
        projects: 100,
        resources: 1000,
        skus: ['free', 'standard'],
        instances: 6,
        log_retention_days: 90,
      },
      quotas: { api_calls: { per_period: 100_000_000, hard: false } },
      features: [
        '100 projects',
        '1,000 resources',
        'Everything in Standard',
        '10 million API calls included',
        'Logs kept 90 days',
      ],
    },
  }),
);

// Quotas name declared metrics: a typo would silently never alert. A lookup key is one Stripe
// price: two plans naming it must price it the same way.
const priceByKey = new Map<string, string>();
for (const plan of Object.values(plans)) {
  for (const price of Object.values(plan.metered)) {
    const shape = JSON.stringify({ ...price, lookup_key: undefined });
    const seen = priceByKey.get(price.lookup_key);
    if (seen !== undefined && seen !== shape)
      throw new Error(
        `Plan ${plan.id}: the price ${price.lookup_key} differs from another plan's price with that key`,
      );
    priceByKey.set(price.lookup_key, shape);
  }
  for (const metric of Object.keys(plan.quotas)) {
    if (!usageMetric(metric)) throw new Error(`Plan ${plan.id}: the quota names an unknown metric ${metric}`);
  }
}

export function planFor(id: string): Plan {
  return plans[id as PlanId] ?? plans.free;
}

/** The plan a resource SKU needs: standard SKUs need the standard plan. */
export function planNeededForSku(sku: string): PlanId {
  return plans.free.limits.skus.includes(sku) ? 'free' : 'standard';
}

/** Every lookup key of a plan's prices (what a checkout puts on the subscription). */
export function priceLookupKeys(plan: Plan): string[] {
  return [
    ...(plan.base_price ? [plan.base_price.lookup_key] : []),
    ...Object.values(plan.metered).map((price) => price.lookup_key),
  ];
}
