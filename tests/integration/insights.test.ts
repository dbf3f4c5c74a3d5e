import { describe, expect, it } from 'vitest';
import { plans } from '../../src/schemas/plans.ts';
import { type InsightInputs, optimizationInsights } from '../../src/services/billing/insights.ts';

const now = new Date('2026-11-20T12:00:00Z');
const old = new Date('2026-11-01T00:00:00Z');
const resource = (id: string, extra: Partial<InsightInputs['resources'][number]> = {}) => ({
  resource_id: id,
  project_id: 'web',
  name: id,
  type: 'Konnektr.Graph',
  sku: 'standard',
  settings_json: { instances: 1 },
  deployment_state: 'deployed',
  created_at: old,
  ...extra,
});
const base: InsightInputs = {
  plan: plans.standard,
  now,
  resources: [],
  recent: [],
  resourcesWithReportedUsage: new Set(),
  projectsWithApiCalls: new Set(['web']),
  projectedTotal: 6000,
  periodTotals: [],
  projectCount: 1,
};

describe('optimization insights', () => {
  it('calls a resource idle only when it is old, runs, and nothing used it for 7 days', () => {
    const recent = [
      {
        metric: 'instance_hours',
        resource_id: 'quiet',
        resource_type: 'Konnektr.Graph',
        quantity: 168,
      },
    ];
    const inputs = {
      ...base,
      projectsWithApiCalls: new Set<string>(),
      recent,
      resources: [
        resource('quiet'),
        resource('young', { created_at: new Date('2026-11-18T00:00:00Z') }),
        resource('stopped', { deployment_state: 'undeployed' }),
        resource('reporting'),
      ],
      resourcesWithReportedUsage: new Set(['reporting']),
    };
    // 168 instance-hours in 168 h → 730 a month × 4 ¢.
    expect(optimizationInsights(inputs).map((i) => [i.kind, i.resource_id, i.monthly_savings])).toEqual([
      ['idle', 'quiet', 2920],
    ]);
    // API calls in its project count as use.
    expect(optimizationInsights({ ...inputs, projectsWithApiCalls: new Set(['web']) })).toEqual([]);
  });

  it('sizes instances by reported peak connections, and says nothing without them', () => {
    const big = resource('big', { settings_json: { instances: 6 } });
    const peak = (q: number) => [
      { metric: 'peak_connections', resource_id: 'big', resource_type: 'Konnektr.Graph', quantity: q },
    ];
    // 500 × 1.25 / 200 → 4 needed of 6: 2 × 730 × 4 ¢.
    expect(optimizationInsights({ ...base, resources: [big], recent: peak(500) })).toEqual([
      expect.objectContaining({ kind: 'over_provisioned', monthly_savings: 5840 }),
    ]);
    expect(optimizationInsights({ ...base, resources: [big], recent: peak(1000) })).toEqual([]);
    expect(optimizationInsights({ ...base, resources: [big], recent: [] })).toEqual([]);
  });

  it('suggests Free when every paid-SKU resource fits the free SKU and usage fits Free', () => {
    const small = resource('small', { settings_json: { instances: 1 } });
    const fits = optimizationInsights({
      ...base,
      resources: [small],
      periodTotals: [{ metric: 'api_calls', quantity: 50_000 }],
    });
    expect(fits).toEqual([
      expect.objectContaining({ kind: 'free_tier', resource_id: null, monthly_savings: 6000 }),
    ]);
    // Too many API calls for Free's quota, or a resource that needs the standard SKU: no suggestion.
    expect(
      optimizationInsights({
        ...base,
        resources: [small],
        periodTotals: [{ metric: 'api_calls', quantity: 200_000 }],
      }),
    ).toEqual([]);
    expect(
      optimizationInsights({ ...base, resources: [resource('ha', { settings_json: { instances: 3 } })] }),
    ).toEqual([]);
    expect(optimizationInsights({ ...base, plan: plans.free, resources: [small] })).toEqual([]);
  });
});
