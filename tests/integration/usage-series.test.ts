import { describe, expect, it } from 'vitest';
import { usageSeries } from '../../src/services/usage/series.ts';
import { useTestApp } from '../helpers/test-app.ts';

const t = useTestApp();
const account = { scope_type: 'organization' as const, scope_id: 'acme' };

async function hourly(metric: string, resourceId: string, hour: string, quantity: number, sku = 'standard') {
  await t.database.db
    .insertInto('ktrlplane.usage_hourly')
    .values({
      ...account,
      metric,
      resource_id: resourceId,
      hour: new Date(hour),
      org_id: 'acme',
      project_id: resourceId ? 'web' : '',
      resource_type: resourceId ? 'Konnektr.Flows' : null,
      sku: resourceId ? sku : null,
      quantity,
      updated_at: new Date(hour),
    })
    .execute();
}

describe('usageSeries', () => {
  it('answers hours as stored and days folded by each metric’s aggregation, for one account only', async () => {
    await hourly('instance_hours', 'flow-1', '2026-11-01T00:00:00Z', 1.5, 'free');
    await hourly('instance_hours', 'flow-1', '2026-11-01T23:00:00Z', 2.25);
    await hourly('instance_hours', 'flow-1', '2026-11-02T00:00:00Z', 3);
    await hourly('api_calls', '', '2026-11-01T05:00:00Z', 120);
    await hourly('peak_connections', 'flow-1', '2026-11-01T01:00:00Z', 7);
    await hourly('peak_connections', 'flow-1', '2026-11-01T02:00:00Z', 4);
    await hourly('backup_size_gb', 'flow-1', '2026-11-01T01:00:00Z', 10);
    await hourly('backup_size_gb', 'flow-1', '2026-11-01T03:00:00Z', 8);
    await t.database.db
      .insertInto('ktrlplane.usage_hourly')
      .values({
        scope_type: 'organization',
        scope_id: 'other',
        metric: 'instance_hours',
        resource_id: 'x',
        hour: new Date('2026-11-01T00:00:00Z'),
        org_id: 'other',
        project_id: 'p',
        resource_type: 'Konnektr.Flows',
        sku: 'free',
        quantity: 99,
        updated_at: new Date(),
      })
      .execute();

    const from = new Date('2026-11-01T00:00:00Z');
    const to = new Date('2026-11-03T00:00:00Z');
    const hours = await usageSeries(t.database.db, account, { from, to, granularity: 'hour' });
    expect(hours).toHaveLength(8);
    expect(hours[0]).toEqual({
      period_start: new Date('2026-11-01T00:00:00Z'),
      metric: 'instance_hours',
      resource_id: 'flow-1',
      resource_type: 'Konnektr.Flows',
      sku: 'free',
      quantity: 1.5,
    });
    expect(hours.find((row) => row.metric === 'api_calls')?.resource_id).toBeNull();

    const days = await usageSeries(t.database.db, account, { from, to, granularity: 'day' });
    const day = (metric: string, date: string) =>
      days.find((row) => row.metric === metric && row.period_start.toISOString() === date);
    expect(day('instance_hours', '2026-11-01T00:00:00.000Z')).toMatchObject({
      quantity: 3.75,
      sku: 'standard',
    });
    expect(day('instance_hours', '2026-11-02T00:00:00.000Z')?.quantity).toBe(3);
    expect(day('api_calls', '2026-11-01T00:00:00.000Z')?.quantity).toBe(120);
    expect(day('peak_connections', '2026-11-01T00:00:00.000Z')?.quantity).toBe(7);
    expect(day('backup_size_gb', '2026-11-01T00:00:00.000Z')?.quantity).toBe(8);
    expect(days.every((row) => row.quantity !== 99)).toBe(true);

    const onlyApi = await usageSeries(t.database.db, account, {
      from,
      to,
      granularity: 'day',
      metric: 'api_calls',
    });
    expect(onlyApi.map((row) => row.metric)).toEqual(['api_calls']);
  });
});
