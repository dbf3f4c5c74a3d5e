import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { listResourceTypes } from '../../src/schemas/resource-types/registry.ts';
import { meterPointersOf } from '../../src/services/usage/resource-meters.ts';
import { createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
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
        type: 'Konnektr.DigitalTwins',
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
