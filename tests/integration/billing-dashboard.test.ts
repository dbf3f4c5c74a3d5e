import { describe, expect, it } from 'vitest';
import {
  apiTokenFor,
  as,
  asJson,
  bearer,
  createOrgFor,
  createProjectFor,
  ORIGIN,
  signUpUser,
} from '../helpers/fixtures.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

const TWINS = 'Konnektr.Graph';
const FLOWS = 'Konnektr.Flows';

interface UsageRow {
  metric: string;
  resource_id?: string;
  project_id?: string;
  resource_type?: string | null;
  hour: Date;
  quantity: number;
}

/** Usage as the rollup writes it (ktrlplane.usage_hourly), for the organization's account. */
async function insertUsage(t: TestContext, orgId: string, rows: UsageRow[]) {
  await t.database.db
    .insertInto('ktrlplane.usage_hourly')
    .values(
      rows.map((row) => ({
        scope_type: 'organization' as const,
        scope_id: orgId,
        metric: row.metric,
        resource_id: row.resource_id ?? '',
        hour: row.hour,
        org_id: orgId,
        project_id: row.project_id ?? '',
        resource_type: row.resource_type ?? null,
        sku: null,
        quantity: row.quantity,
        reported_quantity: null,
        updated_at: t.clock.now(),
      })),
    )
    .execute();
}

/**
 * A month so far (2026-11-01 to 2026-11-20 12:00 UTC) on Standard (billing off: everyone is on
 * PLAN_WITHOUT_BILLING = standard in tests):
 * - twin (digital twins, standard SKU, 3 instances): 72 instance-hours a day, 36 on the 20th;
 *   100 GB storage all the time (2,400 GB-hours a day); peak 150 connections reported;
 * - flow (flows, in project `data`, 1 replica, created Nov 1): 24 instance-hours a day;
 * - 2,000,000 API calls on Nov 5.
 * By hand: twin 1,404 × 4 ¢ = 5,616; flow 480 × 2 ¢ = 960; API (2,000 − 1,000) × 5 ¢ = 5,000;
 * storage 48,000 × 0.02 ¢ = 960; usage 12,536 ¢ + plan 4,900 ¢ = 17,436 ¢ ($174.36).
 */
async function monthOfUsage(t: TestContext) {
  t.clock.set(new Date('2026-11-20T12:00:00Z'));
  const ada = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, ada, 'Acme', 'acme');
  await createProjectFor(t, ada, 'acme', 'Web', 'web');
  await createProjectFor(t, ada, 'acme', 'Data', 'data');
  const created = new Date('2026-11-01T00:00:00Z');
  await t.database.db
    .insertInto('ktrlplane.resources')
    .values([
      {
        resource_id: 'twin',
        project_id: 'web',
        name: 'Twin graph',
        type: TWINS,
        sku: 'standard',
        settings_json: { instances: 3 },
        created_at: created,
      },
      {
        resource_id: 'flow',
        project_id: 'data',
        name: 'Nightly flow',
        type: FLOWS,
        sku: 'free',
        settings_json: { replicas: 1 },
        created_at: created,
      },
    ])
    .execute();
  const rows: UsageRow[] = [];
  for (let d = 0; d < 20; d++) {
    const hour = new Date(Date.UTC(2026, 10, 1 + d, 10));
    rows.push({
      metric: 'instance_hours',
      resource_id: 'twin',
      project_id: 'web',
      resource_type: TWINS,
      hour,
      quantity: d === 19 ? 36 : 72,
    });
    rows.push({
      metric: 'instance_hours',
      resource_id: 'flow',
      project_id: 'data',
      resource_type: FLOWS,
      hour,
      quantity: 24,
    });
    rows.push({
      metric: 'storage_gb_hours',
      resource_id: 'twin',
      project_id: 'web',
      resource_type: TWINS,
      hour,
      quantity: 2400,
    });
  }
  rows.push({ metric: 'api_calls', hour: new Date('2026-11-05T09:00:00Z'), quantity: 2_000_000 });
  rows.push({
    metric: 'peak_connections',
    resource_id: 'twin',
    project_id: 'web',
    resource_type: TWINS,
    hour: new Date('2026-11-19T15:00:00Z'),
    quantity: 150,
  });
  await insertUsage(t, 'acme', rows);
  return { ada };
}

interface DashboardJson {
  dashboard: {
    plan: { id: string };
    period: { start: string; end: string };
    usage: Array<{ metric: string; quantity: number; quota: { limit: number; percent: number } | null }>;
    daily_usage: Array<{ metric: string; points: Array<{ t: string; v: number | null }> }>;
    cost: {
      base_amount: number;
      usage_amount: number;
      total: number;
      projected_total: number;
      by_resource_type: Array<{ resource_type: string | null; amount: number }>;
      by_resource: Array<{ resource_id: string | null; name: string; amount: number }>;
      cumulative: Array<{ t: string; amount: number }>;
    };
    insights: Array<{ kind: string; resource_id: string | null; monthly_savings: number }>;
    upcoming_invoice: unknown;
    payment_method: unknown;
    reconciliation: unknown;
  };
}

describe('billing dashboard', () => {
  const t = useTestApp({ BASE_URL: ORIGIN });

  async function dashboardOf(headers: Record<string, string>, path = '/organizations/acme/billing') {
    const res = await t.app.request(path, { headers });
    expect(res.status).toBe(200);
    return ((await res.json()) as DashboardJson).dashboard;
  }

  it('prices the month so far as calculated by hand, per type and resource, with a projection', async () => {
    const { ada } = await monthOfUsage(t);
    const d = await dashboardOf(asJson(ada));
    expect(d.plan.id).toBe('standard');
    expect(d.period).toEqual({ start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' });
    expect(d.cost.base_amount).toBe(4900);
    expect(d.cost.usage_amount).toBeCloseTo(12_536, 6);
    expect(d.cost.total).toBeCloseTo(17_436, 6);

    const byResource = Object.fromEntries(
      d.cost.by_resource.map((r) => [r.resource_id ?? 'account', r.amount]),
    );
    expect(byResource.twin).toBeCloseTo(5616 + 960, 6);
    expect(byResource.flow).toBeCloseTo(960, 6);
    expect(byResource.account).toBeCloseTo(5000, 6);
    expect(d.cost.by_resource.find((r) => r.resource_id === 'twin')?.name).toBe('Twin graph');
    const byType = Object.fromEntries(
      d.cost.by_resource_type.map((r) => [r.resource_type ?? 'account', r.amount]),
    );
    expect(byType[TWINS]).toBeCloseTo(6576, 6);
    expect(byType[FLOWS]).toBeCloseTo(960, 6);

    // Projection: the last 7 days' rate for the 10.5 days left (hand: twin 468 → +702 ih, flow
    // 168 → +252 ih, storage 16,800 → +25,200 GB-h, no API calls): 4,900 + 8,424 + 1,464 + 5,000 + 1,464.
    expect(d.cost.projected_total).toBeCloseTo(21_252, 6);

    // The cumulative cost ends at the total; day 1 is the plan plus that day's usage.
    expect(d.cost.cumulative).toHaveLength(20);
    expect(d.cost.cumulative.at(-1)?.amount).toBeCloseTo(d.cost.total, 6);
    expect(d.cost.cumulative[0]?.amount).toBeCloseTo(4900 + 72 * 4 + 24 * 2 + 2400 * 0.02, 6);

    const usage = Object.fromEntries(d.usage.map((u) => [u.metric, u]));
    expect(usage.instance_hours?.quantity).toBe(1404 + 480);
    expect(usage.api_calls?.quota).toEqual({ limit: 10_000_000, hard: false, percent: 20 });
    expect(usage.peak_connections?.quantity).toBe(150);
    const dailyCalls = d.daily_usage.find((s) => s.metric === 'api_calls');
    expect(dailyCalls?.points.find((p) => p.t === '2026-11-05T00:00:00.000Z')?.v).toBe(2_000_000);
    expect(dailyCalls?.points.find((p) => p.t === '2026-11-06T00:00:00.000Z')?.v).toBe(0);

    // Insights: twin runs 3 instances for 150 connections (1 needed): 2 × 730 h × 4 ¢; the flow
    // is idle (no reported usage, no API calls in `data` for 7 days): 24 ih a day × 730/24 × 2 ¢.
    expect(d.insights).toEqual([
      expect.objectContaining({ kind: 'over_provisioned', resource_id: 'twin', monthly_savings: 5840 }),
      expect.objectContaining({
        kind: 'idle',
        resource_id: 'flow',
        monthly_savings: expect.closeTo(1460, 6),
      }),
    ]);
    expect(d.upcoming_invoice).toBeNull(); // billing off: no Stripe
    expect(d.payment_method).toBeNull();

    // The page shows the same figures.
    const html = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(html).toContain('data-testid="cost-so-far">$174.36<');
    expect(html).toContain('data-testid="projected-total">$212.52<');
    expect(html).toContain('−$58.40/mo');
    expect(html).toContain('id="cumulative-cost-title"');
    expect(html).toContain('data-testid="chart-daily-api-calls"');
  });

  it('shows the reconciliation with Stripe: in agreement, or the drift not explained by unsent usage', async () => {
    const { ada } = await monthOfUsage(t);
    expect((await dashboardOf(asJson(ada))).reconciliation).toEqual({
      checked_at: null,
      ok: true,
      periods: [],
    });
    const row = (day: number, ours: number, stripe: number, unsent: number) => ({
      scope_type: 'organization' as const,
      scope_id: 'acme',
      meter: 'api_calls',
      period_start: new Date(Date.UTC(2026, 10, day)),
      period_end: new Date(Date.UTC(2026, 10, day + 1)),
      ours,
      stripe,
      unsent,
      drift: ours - stripe,
      checked_at: t.clock.now(),
    });
    // Oct 31 is outside the period; Nov 5 is short by what is still in the outbox.
    await t.database.db
      .insertInto('ktrlplane.usage_reconciliations')
      .values([row(0, 10, 0, 0), row(5, 2000, 1990, 10)])
      .execute();
    const agreed = (await dashboardOf(asJson(ada))).reconciliation as unknown as {
      ok: boolean;
      periods: unknown[];
    };
    expect(agreed.ok).toBe(true);
    expect(agreed.periods).toHaveLength(1);
    let html = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(html).toContain('In agreement with Stripe (apart from usage still being sent)');

    await t.database.db
      .updateTable('ktrlplane.usage_reconciliations')
      .set({ stripe: 1900, drift: 100 })
      .where('period_start', '=', new Date(Date.UTC(2026, 10, 5)))
      .execute();
    const drift = (await dashboardOf(asJson(ada))).reconciliation as unknown as {
      ok: boolean;
      periods: Array<{ unexplained: number }>;
    };
    expect(drift.ok).toBe(false);
    expect(drift.periods[0]?.unexplained).toBe(90);
    html = await (await t.app.request('/organizations/acme/billing', { headers: as(ada) })).text();
    expect(html).toContain('Stripe’s totals differ from ours');
    expect(html).toContain('data-testid="reconciliation-drift"');
  });

  it('answers the usage series as JSON and CSV, with 422 for bad parameters', async () => {
    const { ada } = await monthOfUsage(t);
    const token = await apiTokenFor(t, ada);
    const url = '/api/v1/organizations/acme/billing/usage';
    const json = (await (
      await t.app.request(`${url}?from=2026-11-05&to=2026-11-06&granularity=hour&metric=api_calls`, {
        headers: bearer(token),
      })
    ).json()) as {
      rows: Array<{ period_start: string; quantity: number; unit: string }>;
      granularity: string;
    };
    expect(json.granularity).toBe('hour');
    expect(json.rows).toEqual([
      expect.objectContaining({
        period_start: '2026-11-05T09:00:00.000Z',
        metric: 'api_calls',
        quantity: 2_000_000,
        unit: 'call',
      }),
    ]);

    // Default span: the billing period; CSV by ?format=csv or by Accept.
    const csv = await t.app.request('/organizations/acme/billing/usage?format=csv&metric=instance_hours', {
      headers: as(ada),
    });
    expect(csv.headers.get('Content-Type')).toContain('text/csv');
    expect(csv.headers.get('Content-Disposition')).toContain('usage-acme-2026-11-01-2026-12-01.csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('period_start,metric,unit,resource_id,resource_type,sku,quantity');
    expect(lines).toHaveLength(1 + 40);
    expect(lines[1]).toBe('2026-11-01T00:00:00.000Z,instance_hours,instance-hour,flow,Konnektr.Flows,,24');
    const byAccept = await t.app.request('/organizations/acme/billing/usage?metric=api_calls', {
      headers: as(ada, { Accept: 'text/csv' }),
    });
    expect((await byAccept.text()).split('\r\n')[1]).toBe(
      '2026-11-05T00:00:00.000Z,api_calls,call,,,,2000000',
    );

    const problems = async (query: string) => {
      const res = await t.app.request(`${url}?${query}`, { headers: bearer(token) });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { errors: Array<{ pointer: string; message: string }> };
      return body.errors.map(({ pointer, message }) => ({ pointer, message }));
    };
    expect(await problems('granularity=week')).toEqual([
      { pointer: '/granularity', message: 'must be hour or day' },
    ]);
    expect((await problems('metric=bogus'))[0]?.message).toContain(
      'must be one of the metrics: instance_hours, storage_gb_hours, api_calls',
    );
    expect((await problems('from=yesterday'))[0]?.pointer).toBe('/from');
    expect(await problems('from=2026-11-10&to=2026-11-01')).toEqual([
      { pointer: '/to', message: 'must be after from' },
    ]);
    expect((await problems('from=2026-01-01&to=2026-11-01&granularity=hour'))[0]?.message).toBe(
      'at most 31 days after from with granularity hour',
    );
    expect((await problems('colour=blue'))[0]?.pointer).toBe('');
  });
});
