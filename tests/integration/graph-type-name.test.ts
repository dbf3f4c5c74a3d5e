import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { renameGraphType } from '../../migrations/2026-12-08-0015-graph-type-name.ts';
import { DEPRECATED_GRAPH_TYPE_ID, GRAPH_TYPE_ID } from '../../src/schemas/resource-types/type-ids.ts';
import { meterFor, usageMetric } from '../../src/schemas/usage-metrics.ts';
import { syncResourceTypes } from '../../src/services/resource-types.ts';
import { apiTokenFor, as, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

/**
 * The graph database's id is production's `Konnektr.Graph`; `Konnektr.DigitalTwins` is a
 * deprecated alias on input, and migration 0015 moved the stored rows without touching the
 * updated_at the operator polls.
 */
describe('graph type id', () => {
  const t = useTestApp();
  const db = () => t.database.db;

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const token = await apiTokenFor(t, ada);
    return { ada, token };
  }

  it('creates under the old id as Konnektr.Graph and finds it through the old id in filters', async () => {
    const { token } = await setup();
    const created = await t.app.request('/api/v1/projects/web/resources', {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ resource_id: 'g1', name: 'G1', type: DEPRECATED_GRAPH_TYPE_ID }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ resource_id: 'g1', type: GRAPH_TYPE_ID });
    const row = await db()
      .selectFrom('ktrlplane.resources')
      .select('type')
      .where('resource_id', '=', 'g1')
      .executeTakeFirstOrThrow();
    expect(row.type).toBe(GRAPH_TYPE_ID);

    for (const filter of [GRAPH_TYPE_ID, DEPRECATED_GRAPH_TYPE_ID]) {
      const list = await t.app.request(`/api/v1/resources?resource_type=${filter}`, {
        headers: bearer(token),
      });
      expect(list.status).toBe(200);
      const body = (await list.json()) as { resources: Array<{ resource_id: string }> };
      expect(body.resources.map((resource) => resource.resource_id)).toEqual(['g1']);
    }
    const flows = await t.app.request('/api/v1/resources?resource_type=Konnektr.Flows', {
      headers: bearer(token),
    });
    expect(((await flows.json()) as { resources: unknown[] }).resources).toEqual([]);

    const type = await t.app.request(`/api/v1/resource-types/${DEPRECATED_GRAPH_TYPE_ID}`, {
      headers: bearer(token),
    });
    expect(type.status).toBe(200);
    expect(await type.json()).toMatchObject({ type_name: GRAPH_TYPE_ID });
  });

  it('opens the wizard with the graph type chosen when a link names the old id', async () => {
    const { ada } = await setup();
    const page = await t.app.request(
      `/projects/web/resources/new?type=${DEPRECATED_GRAPH_TYPE_ID}&sku=standard`,
      {
        headers: as(ada),
      },
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(new RegExp(`<input[^>]*value="${GRAPH_TYPE_ID}"[^>]*checked`));
    expect(html).not.toContain(`value="${DEPRECATED_GRAPH_TYPE_ID}"`);
  });

  it('keeps the Stripe meter the graph database was billed under', () => {
    const instanceHours = usageMetric('instance_hours');
    if (!instanceHours) throw new Error('instance_hours is a built-in metric');
    expect(meterFor(instanceHours, GRAPH_TYPE_ID)).toBe('instance_hours_digital_twins');
    expect(meterFor(instanceHours, DEPRECATED_GRAPH_TYPE_ID)).toBe('instance_hours_digital_twins');
    expect(meterFor(instanceHours, 'Konnektr.Flows')).toBe('instance_hours_flows');
  });

  it('migration 0015 moves every stored old id and leaves updated_at and the usage history alone', async () => {
    await setup();
    await syncResourceTypes(db(), t.clock.now());
    const before = new Date('2026-11-30T10:00:00.000Z');
    // Rows as a database from before the rename holds them (the type catalogue under the old id).
    await sql`UPDATE ktrlplane.resource_types SET type_name = ${DEPRECATED_GRAPH_TYPE_ID}
      WHERE type_name = ${GRAPH_TYPE_ID}`.execute(db());
    await sql`UPDATE ktrlplane.resource_type_meters SET type_name = ${DEPRECATED_GRAPH_TYPE_ID}
      WHERE type_name = ${GRAPH_TYPE_ID}`.execute(db());
    await sql`INSERT INTO ktrlplane.resources
        (resource_id, project_id, name, type, sku, settings_json, status, created_at, updated_at)
      VALUES ('old-graph', 'web', 'Old', ${DEPRECATED_GRAPH_TYPE_ID}, 'free', '{"instances":1}', 'Healthy',
        ${before}, ${before}),
        ('flow', 'web', 'Flow', 'Konnektr.Flows', 'free', '{}', 'Healthy', ${before}, ${before})`.execute(
      db(),
    );
    await sql`INSERT INTO ktrlplane.resource_drafts
        (draft_id, user_id, project_id, basics, settings_json, created_at, expires_at)
      SELECT 'd1', user_id, 'web', ${JSON.stringify({ type: DEPRECATED_GRAPH_TYPE_ID, sku: 'free', name: 'X', resource_id: '' })}::jsonb,
        '{}'::jsonb, now(), now() + interval '1 day'
      FROM ktrlplane.users LIMIT 1`.execute(db());
    await sql`INSERT INTO ktrlplane.usage_hourly
        (scope_type, scope_id, metric, resource_id, hour, org_id, project_id, resource_type, sku, quantity, updated_at)
      VALUES ('organization', 'acme', 'instance_hours', 'old-graph', ${before}, 'acme', 'web',
        ${DEPRECATED_GRAPH_TYPE_ID}, 'free', 1, ${before})`.execute(db());
    const changesBefore = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.resource_usage_changes`.execute(db());
    const deploymentsBefore = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.resource_deployments`.execute(db());

    await db()
      .transaction()
      .execute((trx) => renameGraphType(trx as unknown as Kysely<unknown>));

    const rows = await db()
      .selectFrom('ktrlplane.resources')
      .select(['resource_id', 'type', 'updated_at'])
      .orderBy('resource_id')
      .execute();
    expect(rows).toEqual([
      { resource_id: 'flow', type: 'Konnektr.Flows', updated_at: before },
      { resource_id: 'old-graph', type: GRAPH_TYPE_ID, updated_at: before },
    ]);
    const leftovers = await sql<{ place: string }>`
      SELECT 'resource_types' AS place FROM ktrlplane.resource_types WHERE type_name = ${DEPRECATED_GRAPH_TYPE_ID}
      UNION ALL SELECT 'resource_type_meters' FROM ktrlplane.resource_type_meters WHERE type_name = ${DEPRECATED_GRAPH_TYPE_ID}
      UNION ALL SELECT 'resource_drafts' FROM ktrlplane.resource_drafts WHERE basics->>'type' = ${DEPRECATED_GRAPH_TYPE_ID}
      UNION ALL SELECT 'resource_usage_changes' FROM ktrlplane.resource_usage_changes WHERE type = ${DEPRECATED_GRAPH_TYPE_ID}
      UNION ALL SELECT 'usage_hourly' FROM ktrlplane.usage_hourly WHERE resource_type = ${DEPRECATED_GRAPH_TYPE_ID}`.execute(
      db(),
    );
    expect(leftovers.rows).toEqual([]);
    const catalogue = await sql<{ type_name: string; is_active: boolean }>`
      SELECT type_name, is_active FROM ktrlplane.resource_types ORDER BY type_name`.execute(db());
    expect(catalogue.rows).toEqual([
      { type_name: 'Konnektr.Flows', is_active: true },
      { type_name: GRAPH_TYPE_ID, is_active: true },
      { type_name: 'Konnektr.Secret', is_active: true },
    ]);
    const meters = await sql<{ instances_pointer: string }>`
      SELECT instances_pointer FROM ktrlplane.resource_type_meters WHERE type_name = ${GRAPH_TYPE_ID}`.execute(
      db(),
    );
    expect(meters.rows).toEqual([{ instances_pointer: '/instances' }]);
    // The rename is no cost change and no deployment event: no history row was added.
    const changesAfter = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.resource_usage_changes`.execute(db());
    expect(changesAfter.rows[0]?.n).toBe(changesBefore.rows[0]?.n);
    const deploymentsAfter = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.resource_deployments`.execute(db());
    expect(deploymentsAfter.rows[0]?.n).toBe(deploymentsBefore.rows[0]?.n);

    // The triggers are back on: a settings change moves updated_at and records a usage change.
    await sql`UPDATE ktrlplane.resources SET settings_json = '{"instances":2}' WHERE resource_id = 'old-graph'`.execute(
      db(),
    );
    const changed = await db()
      .selectFrom('ktrlplane.resources')
      .select('updated_at')
      .where('resource_id', '=', 'old-graph')
      .executeTakeFirstOrThrow();
    expect(changed.updated_at.getTime()).toBeGreaterThan(before.getTime());
    const changesLater = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ktrlplane.resource_usage_changes`.execute(db());
    expect(changesLater.rows[0]?.n).toBe((changesBefore.rows[0]?.n ?? 0) + 1);
  });
});
