import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { rollupUsageJob } from '../../src/jobs/rollup-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { listResourceTypes } from '../../src/schemas/resource-types/registry.ts';
import { meterPointersOf } from '../../src/services/usage/resource-meters.ts';
import {
  apiTokenFor,
  bearer,
  createOrgFor,
  createProjectFor,
  createResourceRow,
  signUpUser,
} from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const t = useTestApp();

async function changes(resourceId: string) {
  return t.database.db
    .selectFrom('ktrlplane.resource_usage_changes')
    .select(['status', 'deployment_state', 'sku', 'instances', 'storage_quantity', 'at'])
    .where('resource_id', '=', resourceId)
    .orderBy('change_id')
    .execute();
}

describe('resource usage history (trigger)', () => {
  it('records instance count and storage size on every change that costs, at the row’s own times', async () => {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Web', 'web');
    const at = (iso: string) => new Date(iso);
    await t.database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: 'twin',
        project_id: 'web',
        name: 'twin',
        type: 'Konnektr.Graph',
        sku: 'standard',
        settings_json: JSON.stringify({ instances: 3, database: { storageSize: '100Gi' } }),
        created_at: at('2026-11-01T00:00:00Z'),
        updated_at: at('2026-11-01T00:00:00Z'),
        status_changed_at: at('2026-11-01T00:00:00Z'),
        status: 'Pending',
      })
      .execute();
    // The operator's status write (moves status_changed_at only).
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ status: 'Running', status_changed_at: at('2026-11-01T00:05:00Z') })
      .where('resource_id', '=', 'twin')
      .execute();
    // A change that costs nothing is not recorded.
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ name: 'renamed', updated_at: at('2026-11-01T00:06:00Z') })
      .where('resource_id', '=', 'twin')
      .execute();
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({
        settings_json: JSON.stringify({ instances: 2, database: { storageSize: '100Gi' } }),
        updated_at: at('2026-11-01T01:00:00Z'),
      })
      .where('resource_id', '=', 'twin')
      .execute();
    await t.database.db.deleteFrom('ktrlplane.resources').where('resource_id', '=', 'twin').execute();

    const rows = await changes('twin');
    expect(
      rows.map((row) => [row.status, row.deployment_state, row.instances, row.storage_quantity]),
    ).toEqual([
      ['Pending', 'deployed', 3, '100Gi'],
      ['Running', 'deployed', 3, '100Gi'],
      ['Running', 'deployed', 2, '100Gi'],
      ['Deleted', 'deleted', 2, '100Gi'],
    ]);
    expect(rows.slice(0, 3).map((row) => row.at.toISOString())).toEqual([
      '2026-11-01T00:00:00.000Z',
      '2026-11-01T00:05:00.000Z',
      '2026-11-01T01:00:00.000Z',
    ]);
    const ids = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ktrlplane.resource_usage_changes`.execute(t.database.db);
    expect(ids.rows[0]?.n).toBe(4);
  });
});

describe('resource_type_meters', () => {
  it('is seeded with what every registered type’s deployment spec says', async () => {
    const rows = await t.database.db
      .selectFrom('ktrlplane.resource_type_meters')
      .selectAll()
      .orderBy('type_name')
      .execute();
    expect(rows).toEqual(
      listResourceTypes()
        .map(meterPointersOf)
        .sort((a, b) => a.type_name.localeCompare(b.type_name)),
    );
  });
});

describe('usage rollup', () => {
  const jobDeps = () => ({ db: t.database.db, clock: t.clock, logger: t.deps.logger, config: t.deps.config });
  const T0 = Date.parse('2026-11-02T10:00:00Z');
  const at = (minutes: number) => new Date(T0 + minutes * 60_000);
  /** Quantities are stored to 12 decimals; compare to 9. */
  const round = (value: number) => Number(value.toFixed(9));
  const hours = (rows: Array<[string, number]>) => rows.map(([hour, value]) => [hour, round(value)]);

  async function hourly(metric: string, resourceId = 'twin') {
    const rows = await t.database.db
      .selectFrom('ktrlplane.usage_hourly')
      .select(['hour', 'quantity', 'scope_id'])
      .where('metric', '=', metric)
      .where('resource_id', '=', resourceId)
      .where('quantity', '<>', '0')
      .orderBy('hour')
      .execute();
    return rows.map((row) => [row.hour.toISOString().slice(11, 16), round(Number(row.quantity))]);
  }

  async function write(values: Record<string, unknown>) {
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set(values)
      .where('resource_id', '=', 'twin')
      .execute();
  }

  it('turns the resource history into exact instance-hours and GB-hours per hour, and re-opens hours for late history', async () => {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Web', 'web');
    await t.database.db
      .insertInto('ktrlplane.resources')
      .values({
        resource_id: 'twin',
        project_id: 'web',
        name: 'twin',
        type: 'Konnektr.Graph',
        sku: 'standard',
        settings_json: JSON.stringify({ instances: 3, database: { storageSize: '100Gi' } }),
        created_at: at(0),
        updated_at: at(0),
        status_changed_at: at(0),
        status: 'Pending',
      })
      .execute();
    await write({ status: 'Running', status_changed_at: at(5) }); // 3 instances from 10:05
    await write({
      settings_json: JSON.stringify({ instances: 2, database: { storageSize: '100Gi' } }),
      updated_at: at(90),
    });
    t.clock.set(at(100));
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('instance_hours')).toEqual(
      hours([
        ['10:00', 2.75], // 55 min × 3
        ['11:00', 1.5 + (10 / 60) * 2], // 30 min × 3 + 10 min × 2
      ]),
    );
    expect(await hourly('storage_gb_hours')).toEqual(
      hours([
        ['10:00', 100],
        ['11:00', (100 * 40) / 60],
      ]),
    );
    // The operator's status writes arrive late (the watermark is 11:40): Failed 11:35–11:38.
    await write({ status: 'Failed', status_changed_at: at(95) });
    await write({ status: 'Running', status_changed_at: at(98) });
    t.clock.set(at(101));
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('instance_hours')).toEqual(
      hours([
        ['10:00', 2.75],
        ['11:00', 1.5 + (8 / 60) * 2],
      ]),
    );
    // Undeployed at 11:45:30: nothing runs after it, the volume is gone too.
    const undeployAt = new Date(T0 + 105.5 * 60_000);
    await write({
      deployment_state: 'undeployed',
      status: 'Undeploying',
      status_changed_at: undeployAt,
      updated_at: undeployAt,
    });
    t.clock.set(at(180));
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('instance_hours')).toEqual(
      hours([
        ['10:00', 2.75],
        ['11:00', 1.5 + ((5 + 7.5) / 60) * 2],
      ]),
    );
    expect(await hourly('storage_gb_hours')).toEqual(
      hours([
        ['10:00', 100],
        ['11:00', (100 * 45.5) / 60],
      ]),
    );
    // Running the rollup again for the same minute changes nothing.
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('storage_gb_hours')).toHaveLength(2);
  });

  it('aggregates reported events by each metric’s aggregation and recomputes an hour when a late event arrives', async () => {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Web', 'web');
    await createResourceRow(t, 'web', 'twin');
    const token = await apiTokenFor(t, owner, { scopeType: 'project', scopeId: 'web' });
    t.clock.set(at(130));
    const send = (events: unknown[]) =>
      t.app.request('/api/v1/usage/events', {
        method: 'POST',
        headers: bearer(token),
        body: JSON.stringify({ events }),
      });
    const e = (
      id: string,
      metric: string,
      minute: number,
      value: number,
      attributes?: Record<string, string>,
    ) => ({
      id,
      metric,
      resourceId: 'twin',
      time: at(minute).toISOString(),
      value,
      ...(attributes ? { attributes } : {}),
    });
    expect(
      (
        await send([
          e('q1', 'graph_queries', 1, 10),
          e('q2', 'graph_queries', 59, 5),
          e('q3', 'graph_queries', 61, 7),
          e('r1', 'flow_runs', 2, 99),
          e('r2', 'flow_runs', 3, 99),
          e('p1', 'peak_connections', 4, 12),
          e('p2', 'peak_connections', 5, 30),
          e('p3', 'peak_connections', 6, 20),
          e('b1', 'backup_size_gb', 7, 40),
          e('b2', 'backup_size_gb', 8, 42),
          e('u1', 'active_users', 9, 1, { user: 'ada' }),
          e('u2', 'active_users', 10, 1, { user: 'bob' }),
          e('u3', 'active_users', 11, 1, { user: 'ada' }),
        ])
      ).status,
    ).toBe(200);
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('graph_queries')).toEqual([
      ['10:00', 15],
      ['11:00', 7],
    ]);
    expect(await hourly('flow_runs')).toEqual([['10:00', 2]]);
    expect(await hourly('peak_connections')).toEqual([['10:00', 30]]);
    expect(await hourly('backup_size_gb')).toEqual([['10:00', 42]]);
    expect(await hourly('active_users')).toEqual([['10:00', 2]]);
    // A late event re-opens its hour only.
    const before = await t.database.db
      .selectFrom('ktrlplane.usage_hourly')
      .select(['hour', 'updated_at'])
      .where('metric', '=', 'graph_queries')
      .orderBy('hour')
      .execute();
    t.clock.set(at(140));
    await send([e('q0', 'graph_queries', 30, 100), e('u4', 'active_users', 12, 1, { user: 'cy' })]);
    await runJob(jobDeps(), rollupUsageJob, 'test');
    expect(await hourly('graph_queries')).toEqual([
      ['10:00', 115],
      ['11:00', 7],
    ]);
    expect(await hourly('active_users')).toEqual([['10:00', 3]]);
    const after = await t.database.db
      .selectFrom('ktrlplane.usage_hourly')
      .select(['hour', 'updated_at'])
      .where('metric', '=', 'graph_queries')
      .orderBy('hour')
      .execute();
    expect(after[1]?.updated_at).toEqual(before[1]?.updated_at);
    expect(after[0]?.updated_at).not.toEqual(before[0]?.updated_at);
    const minutes = await t.database.db
      .selectFrom('ktrlplane.usage_minutely')
      .select(['minute', 'quantity'])
      .where('metric', '=', 'graph_queries')
      .orderBy('minute')
      .execute();
    expect(minutes.map((row) => [row.minute.toISOString().slice(11, 16), Number(row.quantity)])).toEqual([
      ['10:01', 10],
      ['10:30', 100],
      ['10:59', 5],
      ['11:01', 7],
    ]);
  });
});
