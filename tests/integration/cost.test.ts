import { describe, expect, it } from 'vitest';
import { type MeteredPrice, type Plan, planSchema, plans } from '../../src/schemas/plans.ts';
import { stripeTiers } from '../../src/services/billing/catalogue.ts';
import {
  costOf,
  cumulativeCost,
  priceUnits,
  projectUsage,
  totalsOf,
} from '../../src/services/billing/cost.ts';

/**
 * The cost engine against hand calculations. Standard's prices (src/schemas/plans.ts): base
 * $49.00 (4900 ¢); instance-hours 4 ¢ (digital twins) and 2 ¢ (flows); API calls 5 ¢ per 1,000
 * with 1,000 × 1,000 included; storage 0.02 ¢ per GB-hour.
 */
const TWINS = 'Konnektr.Graph';
const FLOWS = 'Konnektr.Flows';

describe('cost engine', () => {
  it('prices a month of Standard per meter, metric, resource type and resource', () => {
    const cost = costOf(plans.standard, [
      { metric: 'instance_hours', resource_id: 'res-a', resource_type: TWINS, quantity: 720 }, // 720 × 4 = 2880
      { metric: 'instance_hours', resource_id: 'res-b', resource_type: TWINS, quantity: 360 }, // 360 × 4 = 1440
      { metric: 'instance_hours', resource_id: 'res-c', resource_type: FLOWS, quantity: 100 }, // 100 × 2 = 200
      { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 1_500_000 }, // (1500 − 1000) × 5 = 2500
      { metric: 'storage_gb_hours', resource_id: 'res-a', resource_type: TWINS, quantity: 7200 }, // 7200 × 0.02 = 144
      { metric: 'graph_queries', resource_id: 'res-a', resource_type: TWINS, quantity: 1000 }, // no price: 0
    ]);
    expect(cost.base_amount).toBe(4900);
    expect(cost.usage_amount).toBeCloseTo(2880 + 1440 + 200 + 2500 + 144, 9);
    expect(cost.total).toBeCloseTo(12_064, 9);

    const meter = (name: string) => cost.meters.find((m) => m.meter === name);
    expect(meter('instance_hours_digital_twins')).toMatchObject({
      quantity: 1080,
      billable: 1080,
      amount: 4320,
    });
    expect(meter('instance_hours_flows')).toMatchObject({ quantity: 100, amount: 200, resource_type: FLOWS });
    expect(meter('api_calls')).toMatchObject({
      quantity: 1_500_000,
      meter_quantity: 1500,
      included: 1000,
      billable: 500,
      amount: 2500,
    });
    expect(meter('graph_queries')).toMatchObject({ priced: false, amount: 0, quantity: 1000 });

    const byResource = Object.fromEntries(
      cost.by_resource.map((r) => [r.resource_id ?? 'account', r.amount]),
    );
    expect(byResource.account).toBeCloseTo(2500, 9);
    expect(byResource['res-a']).toBeCloseTo(3024, 9);
    expect(byResource['res-b']).toBeCloseTo(1440, 9);
    expect(byResource['res-c']).toBeCloseTo(200, 9);
    expect(cost.by_resource[0]?.resource_id).toBe('res-a'); // most expensive first

    const byType = Object.fromEntries(
      cost.by_resource_type.map((r) => [r.resource_type ?? 'account', r.amount]),
    );
    expect(byType[TWINS]).toBeCloseTo(4464, 9);
    expect(byType[FLOWS]).toBeCloseTo(200, 9);
    expect(byType.account).toBeCloseTo(2500, 9);

    const byMetric = Object.fromEntries(cost.by_metric.map((m) => [m.metric, m.amount]));
    expect(byMetric).toEqual({
      instance_hours: 4520,
      api_calls: 2500,
      storage_gb_hours: expect.closeTo(144, 9),
      graph_queries: 0,
    });
  });

  it('costs nothing under the allowance and nothing on Free', () => {
    expect(
      costOf(plans.standard, [
        { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 999_999 },
      ]).usage_amount,
    ).toBe(0);
    const free = costOf(plans.free, [
      { metric: 'instance_hours', resource_id: 'r', resource_type: TWINS, quantity: 720 },
    ]);
    expect(free.total).toBe(0);
    // Premium includes 10,000 × 1,000 calls: 12 million calls → 2,000 billable × 5 ¢.
    expect(
      costOf(plans.premium, [
        { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 12_000_000 },
      ]).usage_amount,
    ).toBe(10_000);
  });

  it('applies graduated tiers after the allowance, and validates tiers', () => {
    const price = {
      lookup_key: 'x',
      unit: 'unit',
      unit_amount: 0,
      included: 50,
      tiers: [
        { up_to: 100, unit_amount: 10 },
        { up_to: 1000, unit_amount: 5 },
        { up_to: null, unit_amount: 1 },
      ],
    };
    // 1250 − 50 = 1200 billable: 100 × 10 + 900 × 5 + 200 × 1 = 5700.
    expect(priceUnits(price, 1250)).toEqual({ billable: 1200, amount: 5700 });
    expect(priceUnits(price, 120)).toEqual({ billable: 70, amount: 700 });
    expect(priceUnits(price, 40)).toEqual({ billable: 0, amount: 0 });

    const withTiers = (tiers: unknown) =>
      planSchema.safeParse({ ...plans.standard, metered: { api_calls: { ...price, tiers } } });
    expect(withTiers(price.tiers).success).toBe(true);
    expect(withTiers([{ up_to: 100, unit_amount: 1 }]).success).toBe(false); // last must be open
    expect(
      withTiers([
        { up_to: 100, unit_amount: 1 },
        { up_to: 50, unit_amount: 1 },
        { up_to: null, unit_amount: 1 },
      ]).success,
    ).toBe(false);
  });

  it('gives Stripe the allowance and tiers as graduated tiers starting at 0', () => {
    expect(stripeTiers(plans.standard.metered.api_calls as MeteredPrice)).toEqual([
      { up_to: 1000, unit_amount_decimal: '0' },
      { up_to: 'inf', unit_amount_decimal: '5' },
    ]);
    expect(stripeTiers(plans.standard.metered.instance_hours_flows as MeteredPrice)).toBeUndefined();
    expect(
      stripeTiers({
        lookup_key: 'x',
        unit: 'u',
        unit_amount: 0,
        included: 50,
        tiers: [
          { up_to: 100, unit_amount: 10 },
          { up_to: null, unit_amount: 1 },
        ],
      }),
    ).toEqual([
      { up_to: 50, unit_amount_decimal: '0' },
      { up_to: 150, unit_amount_decimal: '10' },
      { up_to: 'inf', unit_amount_decimal: '1' },
    ]);
    // Premium's larger allowance is a price of its own.
    expect(plans.premium.metered.api_calls?.lookup_key).not.toBe(
      plans.standard.metered.api_calls?.lookup_key,
    );
  });

  it('shares a meter’s amount over its resources in proportion to their use', () => {
    const plan: Plan = {
      ...plans.standard,
      metered: {
        instance_hours_flows: { lookup_key: 'f', unit: 'instance-hour', unit_amount: 2, included: 100 },
      },
    };
    // 200 instance-hours, 100 free, 100 × 2 = 200 ¢ shared 150 : 50.
    const cost = costOf(plan, [
      { metric: 'instance_hours', resource_id: 'c', resource_type: FLOWS, quantity: 150 },
      { metric: 'instance_hours', resource_id: 'd', resource_type: FLOWS, quantity: 50 },
    ]);
    expect(cost.usage_amount).toBe(200);
    expect(cost.by_resource).toEqual([
      { resource_id: 'c', resource_type: FLOWS, amount: 150 },
      { resource_id: 'd', resource_type: FLOWS, amount: 50 },
    ]);
  });

  it('folds rows with each metric’s aggregation and projects the period at the recent rate', () => {
    const rows = [
      { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 10 },
      { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 5 },
      { metric: 'peak_connections', resource_id: 'r', resource_type: TWINS, quantity: 7 },
      { metric: 'peak_connections', resource_id: 'r', resource_type: TWINS, quantity: 3 },
      { metric: 'backup_size_gb', resource_id: 'r', resource_type: TWINS, quantity: 9 },
      { metric: 'backup_size_gb', resource_id: 'r', resource_type: TWINS, quantity: 4 },
    ];
    expect(totalsOf(rows).map((t) => [t.metric, t.quantity])).toEqual([
      ['api_calls', 15],
      ['peak_connections', 7],
      ['backup_size_gb', 4],
    ]);

    const DAY = 86_400_000;
    // 1,000,000 calls in 10 days, 700,000 of them in the last 7: 100,000 a day for the 20 days left.
    const projected = projectUsage({
      soFar: [
        { metric: 'api_calls', resource_id: null, resource_type: null, quantity: 1_000_000 },
        { metric: 'peak_connections', resource_id: 'r', resource_type: TWINS, quantity: 7 },
        { metric: 'instance_hours', resource_id: 'gone', resource_type: TWINS, quantity: 48 },
      ],
      recent: [{ metric: 'api_calls', resource_id: null, resource_type: null, quantity: 700_000 }],
      recentMs: 7 * DAY,
      remainingMs: 20 * DAY,
    });
    expect(projected.map((t) => t.quantity)).toEqual([3_000_000, 7, 48]);
  });

  it('accumulates cost day by day with the allowance applied as on the invoice', () => {
    const day = (n: number) => new Date(Date.UTC(2026, 10, 1 + n));
    const daily = [0, 1, 2].map((n) => ({
      period_start: day(n),
      metric: 'api_calls',
      resource_id: null,
      resource_type: null,
      quantity: 600_000,
    }));
    // Day 1: 600 units (free). Day 2: 1200 → 200 × 5 = 1000. Day 3: 1800 → 800 × 5 = 4000. Plus 4900 base.
    expect(cumulativeCost(plans.standard, daily, [day(0), day(1), day(2)]).map((p) => p.amount)).toEqual([
      4900, 5900, 8900,
    ]);
  });
});
