import { type MeteredPrice, type Plan, plans } from '../../schemas/plans.ts';

/**
 * What must exist in Stripe for the plans in src/schemas/plans.ts: one meter per metered price
 * (event name `ktrlplane_<meter>`), a product and a price per lookup key. The local Stripe server
 * is seeded from this, and an administrator creates the same in a real Stripe account — so the
 * plans and the prices they name cannot drift apart.
 */
export interface CatalogueMeter {
  id: string;
  event_name: string;
  display_name: string;
  formula: 'sum';
}

export interface CataloguePrice {
  id: string;
  lookup_key: string;
  product: { id: string; name: string };
  currency: string;
  unit_amount_decimal: string;
  nickname: string;
  recurring: { interval: 'month'; usage_type: 'licensed' | 'metered'; meter?: string };
  /**
   * Graduated tiers (Stripe `billing_scheme: tiered`, `tiers_mode: graduated`) when the price has a
   * free allowance or tiers: a first tier at 0 up to `included`, then the plan's price or tiers
   * above it — so Stripe invoices what the cost engine (services/billing/cost.ts) estimates.
   */
  tiers?: Array<{ up_to: number | 'inf'; unit_amount_decimal: string }>;
}

/** The Stripe tiers of a metered price, or undefined for a plain per-unit price. */
export function stripeTiers(price: MeteredPrice): CataloguePrice['tiers'] {
  if (price.included <= 0 && !price.tiers) return undefined;
  const above = price.tiers ?? [{ up_to: null, unit_amount: price.unit_amount }];
  return [
    ...(price.included > 0 ? [{ up_to: price.included, unit_amount_decimal: '0' }] : []),
    ...above.map((tier) => ({
      up_to: tier.up_to === null ? ('inf' as const) : tier.up_to + price.included,
      unit_amount_decimal: String(tier.unit_amount),
    })),
  ];
}

export function meterEventName(meter: string): string {
  return `ktrlplane_${meter}`;
}

export function stripeCatalogue(all: readonly Plan[] = Object.values(plans)): {
  meters: CatalogueMeter[];
  prices: CataloguePrice[];
} {
  const meters = new Map<string, CatalogueMeter>();
  const prices = new Map<string, CataloguePrice>();
  for (const plan of all) {
    if (plan.base_price) {
      const key = plan.base_price.lookup_key;
      prices.set(key, {
        id: `price_${key}`,
        lookup_key: key,
        product: { id: `prod_${plan.id}`, name: `ktrlplane ${plan.display_name}` },
        currency: plan.currency,
        unit_amount_decimal: String(plan.base_price.unit_amount),
        nickname: `${plan.display_name} (monthly)`,
        recurring: { interval: 'month', usage_type: 'licensed' },
      });
    }
    for (const [meter, price] of Object.entries(plan.metered)) {
      const meterId = `mtr_${meter}`;
      meters.set(meter, {
        id: meterId,
        event_name: meterEventName(meter),
        display_name: price.unit,
        formula: 'sum',
      });
      if (!prices.has(price.lookup_key)) {
        const tiers = stripeTiers(price);
        prices.set(price.lookup_key, {
          ...(tiers ? { tiers } : {}),
          id: `price_${price.lookup_key}`,
          lookup_key: price.lookup_key,
          product: { id: `prod_${meter}`, name: meter.replaceAll('_', ' ') },
          currency: plan.currency,
          unit_amount_decimal: String(price.unit_amount),
          nickname: price.unit,
          recurring: { interval: 'month', usage_type: 'metered', meter: meterId },
        });
      }
    }
  }
  return { meters: [...meters.values()], prices: [...prices.values()] };
}
