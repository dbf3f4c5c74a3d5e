import { describe, expect, it } from 'vitest';
import { apiTokenFor, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { useTestApp } from '../helpers/test-app.ts';

const kafkaSink = {
  name: 'kafka-events',
  brokerList: 'kafka-0.example.com:9093',
  topic: 'twins',
  securityProtocol: 'SASL_SSL',
  saslMechanism: 'PLAIN',
  saslUsername: 'svc',
  saslPassword: 'planted-kafka-secret',
};

describe('resources API', () => {
  const t = useTestApp();

  async function setup() {
    const ada = await signUpUser(t, 'ada@example.com');
    await createOrgFor(t, ada, 'Acme', 'acme');
    await createProjectFor(t, ada, 'acme', 'Web', 'web');
    const token = await apiTokenFor(t, ada);
    const post = (body: unknown, headers: Record<string, string> = {}, query = '') =>
      t.app.request(`/api/v1/projects/web/resources${query}`, {
        method: 'POST',
        headers: bearer(token, headers),
        body: JSON.stringify(body),
      });
    const patch = (id: string, body: unknown, headers: Record<string, string> = {}, query = '') =>
      t.app.request(`/api/v1/projects/web/resources/${id}${query}`, {
        method: 'PATCH',
        headers: bearer(token, headers),
        body: JSON.stringify(body),
      });
    const get = (id: string) =>
      t.app.request(`/api/v1/projects/web/resources/${id}`, { headers: bearer(token) });
    const stored = (id: string) =>
      t.database.db
        .selectFrom('ktrlplane.resources')
        .selectAll()
        .where('resource_id', '=', id)
        .executeTakeFirstOrThrow();
    return { ada, token, post, patch, get, stored };
  }

  it('creates a resource with the schema defaults, status Creating and an ETag', async () => {
    const { post } = await setup();
    const res = await post({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.Graph',
      sku: 'free',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('ETag')).toBe('"1"');
    const row = await res.json();
    expect(row).toMatchObject({
      resource_id: 'graph',
      project_id: 'web',
      status: 'Creating',
      sku: 'free',
      generation: 1,
    });
    expect(row.settings_json).toMatchObject({
      instances: 1,
      database: { storageClass: 'standard', storageSize: '10Gi', backupEnabled: true },
    });
  });

  it('refuses unknown types, unknown fields, invalid settings and SKU limits with pointers', async () => {
    const { post } = await setup();
    const unknownType = await post({ name: 'X', type: 'Konnektr.Nope' });
    expect(unknownType.status).toBe(422);
    expect((await unknownType.json()).detail).toContain('Konnektr.Graph');
    const unknownField = await post({ name: 'X', type: 'Konnektr.Flows', colour: 'red' });
    expect(unknownField.status).toBe(422);
    const tooMany = await post({
      name: 'X',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: { instances: 7 },
    });
    expect((await tooMany.json()).errors[0].pointer).toBe('/settings_json/instances');
    const freeLimit = await post({
      name: 'X',
      type: 'Konnektr.Graph',
      sku: 'free',
      settings_json: { instances: 2 },
    });
    expect((await freeLimit.json()).errors.map((e: { pointer: string }) => e.pointer)).toContain(
      '/settings_json/instances',
    );
    const missingSink = await post({
      name: 'X',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: {
        eventSinks: { kafka: [kafkaSink] },
        eventRoutes: [{ name: 'all', sinkName: 'nowhere', eventFormat: 'EventNotification' }],
      },
    });
    expect(missingSink.status).toBe(422);
    expect((await missingSink.json()).errors.map((e: { pointer: string }) => e.pointer)).toContain(
      '/settings_json/eventRoutes/0/sinkName',
    );
  });

  it('refuses settings over 256 KB with 413', async () => {
    const { post } = await setup();
    const res = await post({
      name: 'X',
      type: 'Konnektr.Flows',
      sku: 'free',
      settings_json: { environment: { BIG: 'x'.repeat(300 * 1024) } },
    });
    expect(res.status).toBe(413);
  });

  it('renames without touching settings, and a settings change moves status, generation and updated_at', async () => {
    const { post, patch, stored } = await setup();
    await post({
      resource_id: 'flow',
      name: 'Flow',
      type: 'Konnektr.Flows',
      sku: 'standard',
      settings_json: { replicas: 1 },
    });
    const before = await stored('flow');
    t.clock.advance(60_000);
    const renamed = await patch('flow', { name: 'Flow 2' });
    expect(renamed.status).toBe(200);
    const afterRename = await stored('flow');
    expect(afterRename.settings_json).toEqual(before.settings_json);
    expect(afterRename).toMatchObject({ name: 'Flow 2', status: 'Creating', generation: 2 });
    t.clock.advance(60_000);
    const changed = await patch('flow', { settings_json: { replicas: 3 } }, { 'If-Match': '"2"' });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('ETag')).toBe('"3"');
    const afterChange = await stored('flow');
    expect(afterChange).toMatchObject({ status: 'Updating', generation: 3 });
    expect(afterChange.settings_json).toMatchObject({ replicas: 3 });
    expect(afterChange.updated_at.getTime()).toBeGreaterThan(afterRename.updated_at.getTime());
  });

  it('answers 412 to a write with a stale If-Match', async () => {
    const { post, patch } = await setup();
    await post({ resource_id: 'flow', name: 'Flow', type: 'Konnektr.Flows' });
    await patch('flow', { name: 'Two' });
    const stale = await patch('flow', { name: 'Three' }, { 'If-Match': '"1"' });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('ETag')).toBe('"2"');
  });

  it('previews a change with dryRun without writing it', async () => {
    const { post, patch, stored } = await setup();
    const preview = await post(
      { resource_id: 'flow', name: 'Flow', type: 'Konnektr.Flows' },
      {},
      '?dryRun=true',
    );
    expect(preview.status).toBe(200);
    expect((await preview.json()).dry_run).toBe(true);
    await post({ resource_id: 'flow', name: 'Flow', type: 'Konnektr.Flows', sku: 'standard' });
    const diff = await (await patch('flow', { settings_json: { replicas: 4 } }, {}, '?dryRun=true')).json();
    expect(diff.diff.settings_json.to.replicas).toBe(4);
    expect((await stored('flow')).generation).toBe(1);
  });

  it('replays a create with the same Idempotency-Key and refuses the key for another body', async () => {
    const { post } = await setup();
    const body = { name: 'Once', type: 'Konnektr.Flows' };
    const first = await post(body, { 'Idempotency-Key': 'k-1' });
    const again = await post(body, { 'Idempotency-Key': 'k-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await again.json()).resource_id).toBe((await first.json()).resource_id);
    const rows = await t.database.db.selectFrom('ktrlplane.resources').selectAll().execute();
    expect(rows).toHaveLength(1);
    const other = await post({ name: 'Other', type: 'Konnektr.Flows' }, { 'Idempotency-Key': 'k-1' });
    expect(other.status).toBe(409);
  });

  it('stores secrets for the operator, never returns them, and keeps them when a write leaves them out', async () => {
    const { post, get, patch, stored } = await setup();
    const created = await post({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: { eventSinks: { kafka: [kafkaSink] } },
    });
    expect(created.status).toBe(201);
    expect(await created.text()).not.toContain('planted-kafka-secret');
    const read = await (await get('graph')).json();
    expect(JSON.stringify(read)).not.toContain('planted-kafka-secret');
    expect(read.secrets_set).toEqual(['/eventSinks/kafka/0/saslPassword']);
    // GET → change one field → PATCH back, without the secret.
    read.settings_json.instances = 2;
    const updated = await patch('graph', { settings_json: read.settings_json });
    expect(updated.status).toBe(200);
    const row = await stored('graph');
    expect(
      (row.settings_json as { eventSinks: { kafka: Array<{ saslPassword: string }> } }).eventSinks.kafka[0]
        ?.saslPassword,
    ).toBe('planted-kafka-secret');
    const audit = await t.database.db.selectFrom('ktrlplane.audit_events').select('changes').execute();
    expect(JSON.stringify(audit)).not.toContain('planted-kafka-secret');
    expect(JSON.stringify(t.logs)).not.toContain('planted-kafka-secret');
  });

  it('deletes only after the name is typed', async () => {
    const { post, token } = await setup();
    await post({ resource_id: 'flow', name: 'Flow', type: 'Konnektr.Flows' });
    const wrong = await t.app.request('/api/v1/projects/web/resources/flow', {
      method: 'DELETE',
      headers: bearer(token),
      body: JSON.stringify({ confirm: 'flow' }),
    });
    expect(wrong.status).toBe(422);
    const ok = await t.app.request('/api/v1/projects/web/resources/flow', {
      method: 'DELETE',
      headers: bearer(token),
      body: JSON.stringify({ confirm: 'Flow' }),
    });
    // Accepted: the row shows Deleting until the operator has pruned the workload (deployments.test.ts).
    expect(ok.status).toBe(202);
    expect(await ok.json()).toMatchObject({ resource_id: 'flow', status: 'Deleting' });
  });

  it('lists resources without secrets', async () => {
    const { post, token } = await setup();
    await post({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.Graph',
      sku: 'standard',
      settings_json: { eventSinks: { kafka: [kafkaSink] } },
    });
    const list = await t.app.request('/api/v1/projects/web/resources', { headers: bearer(token) });
    const text = await list.text();
    expect(JSON.parse(text)).toHaveLength(1);
    expect(text).not.toContain('planted-kafka-secret');
  });
});
