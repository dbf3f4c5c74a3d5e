import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { findResourceTypeRow, listResourceTypeRows } from '../../src/db/resource-types.repository.ts';
import { digitalTwins } from '../../src/schemas/resource-types/digital-twins.ts';
import { flows } from '../../src/schemas/resource-types/flows.ts';
import { listResourceTypes } from '../../src/schemas/resource-types/registry.ts';
import {
  resourceTypeDocument,
  settingsJsonSchema,
  syncResourceTypes,
} from '../../src/services/resource-types.ts';
import { apiTokenFor, as, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('resource_types table', () => {
  const t = useTestApp();
  const db = () => t.database.db;
  const later = (ms: number) => new Date(t.clock.now().getTime() + ms);

  it('has the columns other tools read', async () => {
    const result = await sql<{ column_name: string; data_type: string; is_nullable: string }>`
      SELECT column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = 'ktrlplane' AND table_name = 'resource_types'`.execute(db());
    const columns = Object.fromEntries(result.rows.map((row) => [row.column_name, row]));
    expect(columns.type_name).toMatchObject({ data_type: 'text', is_nullable: 'NO' });
    expect(columns.settings_schema).toMatchObject({ data_type: 'jsonb', is_nullable: 'NO' });
    expect(columns.deployment_spec).toMatchObject({ data_type: 'jsonb', is_nullable: 'NO' });
    expect(columns.is_active).toMatchObject({ data_type: 'boolean', is_nullable: 'NO' });
    expect(columns.created_at?.data_type).toBe('timestamp with time zone');
    expect(columns.updated_at?.data_type).toBe('timestamp with time zone');
  });

  it('stores every registered type with its JSON Schema and deployment spec', async () => {
    const result = await syncResourceTypes(db(), t.clock.now());
    expect(result).toEqual({
      inserted: ['Konnektr.Graph', 'Konnektr.Flows', 'Konnektr.Secret'],
      updated: [],
      unchanged: [],
      deactivated: [],
    });
    const rows = await listResourceTypeRows(db());
    expect(rows.map((row) => [row.type_name, row.is_active])).toEqual([
      ['Konnektr.Flows', true],
      ['Konnektr.Graph', true],
      ['Konnektr.Secret', true],
    ]);
    const twins = await findResourceTypeRow(db(), 'Konnektr.Graph');
    const document = resourceTypeDocument(digitalTwins);
    expect(twins).toMatchObject({
      display_name: 'Digital Twins',
      description: digitalTwins.description,
      icon: document.icon,
      skus: document.skus,
      presets: document.presets,
      settings_schema: settingsJsonSchema(digitalTwins),
      deployment_spec: digitalTwins.deployment,
    });
    expect(twins?.created_at.toISOString()).toBe(t.clock.now().toISOString());
    expect(twins?.updated_at.toISOString()).toBe(t.clock.now().toISOString());
    // Readable with plain SQL, as the operator would.
    const viaSql = await sql<{ chart: string; max: number }>`
      SELECT deployment_spec->>'helm_chart' AS chart,
             (settings_schema->'properties'->'instances'->>'maximum')::int AS max
      FROM ktrlplane.resource_types WHERE type_name = 'Konnektr.Graph'`.execute(db());
    expect(viaSql.rows).toEqual([{ chart: 'graph', max: 6 }]);
  });

  it('is idempotent: a second run changes no row and no timestamp', async () => {
    await syncResourceTypes(db(), t.clock.now());
    const before = await listResourceTypeRows(db());
    const again = await syncResourceTypes(db(), later(60_000));
    expect(again).toEqual({
      inserted: [],
      updated: [],
      unchanged: ['Konnektr.Graph', 'Konnektr.Flows', 'Konnektr.Secret'],
      deactivated: [],
    });
    expect(await listResourceTypeRows(db())).toEqual(before);
  });

  it('updates a type whose definition changed, and only that one', async () => {
    await syncResourceTypes(db(), t.clock.now());
    const changed = { ...flows, description: 'A new description.' };
    const result = await syncResourceTypes(db(), later(60_000), [digitalTwins, changed]);
    expect(result).toMatchObject({ updated: ['Konnektr.Flows'], unchanged: ['Konnektr.Graph'] });
    const row = await findResourceTypeRow(db(), 'Konnektr.Flows');
    expect(row?.description).toBe('A new description.');
    expect(row?.updated_at.toISOString()).toBe(later(60_000).toISOString());
    expect(row?.created_at.toISOString()).toBe(t.clock.now().toISOString());
  });

  it('marks types no longer registered inactive, keeps their row, and reactivates them when they return', async () => {
    await syncResourceTypes(db(), t.clock.now());
    const dropped = await syncResourceTypes(db(), later(1000), [flows]);
    expect(dropped).toEqual({
      inserted: [],
      updated: [],
      unchanged: ['Konnektr.Flows'],
      deactivated: ['Konnektr.Graph', 'Konnektr.Secret'],
    });
    const gone = await findResourceTypeRow(db(), 'Konnektr.Graph');
    expect(gone).toMatchObject({ is_active: false });
    expect(gone?.updated_at.toISOString()).toBe(later(1000).toISOString());
    expect((await listResourceTypeRows(db(), { activeOnly: true })).map((row) => row.type_name)).toEqual([
      'Konnektr.Flows',
    ]);
    // Deactivating again changes nothing.
    expect((await syncResourceTypes(db(), later(2000), [flows])).deactivated).toEqual([]);
    expect((await findResourceTypeRow(db(), 'Konnektr.Graph'))?.updated_at.toISOString()).toBe(
      later(1000).toISOString(),
    );
    const back = await syncResourceTypes(db(), later(3000));
    expect(back).toMatchObject({
      updated: ['Konnektr.Graph', 'Konnektr.Secret'],
      unchanged: ['Konnektr.Flows'],
    });
    expect(await findResourceTypeRow(db(), 'Konnektr.Graph')).toMatchObject({ is_active: true });
  });

  it('survives two instances syncing at once', async () => {
    const results = await Promise.all([
      syncResourceTypes(db(), t.clock.now()),
      syncResourceTypes(db(), t.clock.now()),
    ]);
    expect(results.flatMap((result) => result.inserted).sort()).toEqual([
      'Konnektr.Flows',
      'Konnektr.Graph',
      'Konnektr.Secret',
    ]);
    expect(await listResourceTypeRows(db())).toHaveLength(3);
  });
});

describe('resource types API', () => {
  const t = useTestApp();

  async function token() {
    return apiTokenFor(t, await signUpUser(t, 'ada@example.com'));
  }

  it('lists every type with display data, SKUs, presets and the JSON Schema of its settings', async () => {
    const res = await t.app.request('/api/v1/resource-types', {
      headers: { Authorization: `Bearer ${await token()}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Array<Record<string, unknown>>;
    expect(body.map((type) => type.type_name)).toEqual([
      'Konnektr.Graph',
      'Konnektr.Flows',
      'Konnektr.Secret',
    ]);
    for (const type of body) {
      expect(Object.keys(type).sort()).toEqual(
        [
          'defaults',
          'description',
          'display_name',
          'icon',
          'presets',
          'settings_schema',
          'skus',
          'type_name',
        ].sort(),
      );
    }
    expect(body).toEqual(JSON.parse(JSON.stringify(listResourceTypes().map(resourceTypeDocument))));
    const twins = body[0] as {
      skus: Record<string, { display_name: string; limits: unknown; features: string[] }>;
      presets: Array<{ name: string }>;
      icon: unknown;
      settings_schema: { properties: Record<string, unknown> };
    };
    expect(twins.skus.free).toMatchObject({
      display_name: 'Free',
      limits: { max_instances: 1, max_event_sinks: 0 },
    });
    expect(twins.skus.standard?.features.length).toBeGreaterThan(0);
    expect(twins.presets.map((preset) => preset.name)).toEqual([
      'Development',
      'Production HA',
      'Kafka streaming',
    ]);
    expect(twins.icon).toMatchObject({ view_box: '0 0 24 24' });
    expect(twins.settings_schema.properties.instances).toMatchObject({ minimum: 1, maximum: 6 });
  });

  it('answers one type by name', async () => {
    const res = await t.app.request('/api/v1/resource-types/Konnektr.Flows', {
      headers: { Authorization: `Bearer ${await token()}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(resourceTypeDocument(flows))));
  });

  it('answers 404 for an unknown type, naming the known ones', async () => {
    const res = await t.app.request('/api/v1/resource-types/Konnektr.Nope', {
      headers: { Authorization: `Bearer ${await token()}` },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/problem\+json/);
    const problem = (await res.json()) as { detail: string };
    expect(problem.detail).toContain('Konnektr.Nope');
    expect(problem.detail).toContain('Konnektr.Graph, Konnektr.Flows');
  });

  it('answers 401 to anonymous callers and to a bad token', async () => {
    for (const path of ['/api/v1/resource-types', '/api/v1/resource-types/Konnektr.Flows']) {
      const anonymous = await t.app.request(path, { headers: { Accept: 'application/json' } });
      expect(anonymous.status).toBe(401);
      const bad = await t.app.request(path, { headers: { Authorization: 'Bearer not-a-token' } });
      expect(bad.status).toBe(401);
    }
  });

  it('is not served outside /api/v1, and a session cookie does not sign in there', async () => {
    const ada = await signUpUser(t, 'ada@example.com');
    const outside = await t.app.request('/resource-types', {
      headers: as(ada, { Accept: 'application/json' }),
    });
    expect(outside.status).toBe(404);
    const withCookie = await t.app.request('/api/v1/resource-types', { headers: as(ada) });
    expect(withCookie.status).toBe(401);
  });

  it('serves any signed-in caller, whatever their roles or token scope (catalogue, not tenant data)', async () => {
    const bob = await signUpUser(t, 'bob@example.com');
    const readOnly = await apiTokenFor(t, bob, { access: 'read' });
    const res = await t.app.request('/api/v1/resource-types', {
      headers: { Authorization: `Bearer ${readOnly}` },
    });
    expect(res.status).toBe(200);
  });
});
