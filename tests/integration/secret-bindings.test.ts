import { describe, expect, it } from 'vitest';
import type { FlatFields } from '../../src/lib/form-data.ts';
import { ROLE } from '../../src/lib/roles.ts';
import { SECRET_TYPE_ID } from '../../src/schemas/resource-types/registry.ts';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';
import {
  apiTokenFor,
  as,
  bearer,
  createOrgFor,
  createProjectFor,
  grant,
  signUpUser,
} from '../helpers/fixtures.ts';
import { TEST_SECRETS_ENV } from '../helpers/secrets.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

/**
 * Issue 15, finding 5: a stored secret survives an edit only while the fields that say where it is
 * sent (its `boundTo`) are unchanged. The attack: an Editor repoints the Owner's webhook at their
 * own server, keeping the stored token, so the data plane would send it there.
 */

const TOKEN = 'owner-bearer-token-5f8a2c';
const KAFKA_PASSWORD = 'owner-kafka-password-91b';
const MQTT_PASSWORD = 'owner-mqtt-password-c3d';
const KUSTO_SECRET = 'owner-kusto-secret-e7f';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

function encode(fields: FlatFields): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const one of Array.isArray(value) ? value : [value])
      if (typeof one === 'string') body.append(name, one);
  }
  return body.toString();
}

const settings = () => ({
  eventSinks: {
    webhook: [
      {
        name: 'hook',
        url: 'https://hooks.owner.example/twins',
        method: 'POST',
        authentication: { type: 'Bearer', token: TOKEN },
      },
    ],
    kafka: [
      {
        name: 'kafka-events',
        brokerList: 'kafka-0.owner.example:9093',
        topic: 'twins',
        securityProtocol: 'SASL_SSL',
        saslMechanism: 'PLAIN',
        saslUsername: 'svc',
        saslPassword: KAFKA_PASSWORD,
      },
    ],
    mqtt: [
      {
        name: 'mq',
        broker: 'mqtt.owner.example',
        port: 8883,
        topic: 't',
        clientId: 'c',
        protocolVersion: '5.0.0',
        username: 'u',
        password: MQTT_PASSWORD,
      },
    ],
    kusto: [
      {
        name: 'adx',
        ingestionUri: 'https://ingest-owner.westeurope.kusto.windows.net',
        database: 'twins',
        tenantId: 'tenant',
        clientId: 'client',
        clientSecret: KUSTO_SECRET,
      },
    ],
  },
});

async function setup(t: TestContext) {
  const owner = await signUpUser(t, 'owner@example.com');
  const editor = await signUpUser(t, 'editor@example.com');
  await createOrgFor(t, owner, 'Acme', 'acme');
  await createProjectFor(t, owner, 'acme', 'Web', 'web');
  await grant(t, editor, ROLE.editor, 'project', 'web');
  const ownerToken = await apiTokenFor(t, owner);
  const editorToken = await apiTokenFor(t, editor);
  const created = await t.app.request('/api/v1/projects/web/resources', {
    method: 'POST',
    headers: bearer(ownerToken),
    body: JSON.stringify({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.DigitalTwins',
      sku: 'standard',
      settings_json: settings(),
    }),
  });
  expect(created.status).toBe(201);
  const stored = async () =>
    (
      await t.database.db
        .selectFrom('ktrlplane.resources')
        .select(['settings_json', 'generation'])
        .where('resource_id', '=', 'graph')
        .executeTakeFirstOrThrow()
    ).settings_json as ReturnType<typeof settings>;
  const patchAsEditor = async (change: (s: ReturnType<typeof settings>) => void) => {
    const got = await t.app.request('/api/v1/projects/web/resources/graph', { headers: bearer(editorToken) });
    // What the Editor sees: every secret left out.
    const body = (await got.json()) as { settings_json: ReturnType<typeof settings> };
    change(body.settings_json);
    const res = await t.app.request('/api/v1/projects/web/resources/graph', {
      method: 'PATCH',
      headers: bearer(editorToken),
      body: JSON.stringify({ settings_json: body.settings_json }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { owner, editor, ownerToken, editorToken, stored, patchAsEditor };
}

describe('secrets bound to where they are sent', () => {
  const t = useTestApp(TEST_SECRETS_ENV);

  it.each([
    [
      'webhook URL',
      (s: ReturnType<typeof settings>) => {
        (s.eventSinks.webhook[0] as { url: string }).url = 'https://attacker.example/steal';
      },
      '/settings_json/eventSinks/webhook/0/authentication/token',
      'url changed',
    ],
    [
      'Kafka brokers',
      (s: ReturnType<typeof settings>) => {
        (s.eventSinks.kafka[0] as { brokerList: string }).brokerList = 'kafka.attacker.example:9093';
      },
      '/settings_json/eventSinks/kafka/0/saslPassword',
      'brokerList changed',
    ],
    [
      'Kafka security protocol (a downgrade to clear text)',
      (s: ReturnType<typeof settings>) => {
        (s.eventSinks.kafka[0] as { securityProtocol: string }).securityProtocol = 'SASL_PLAINTEXT';
      },
      '/settings_json/eventSinks/kafka/0/saslPassword',
      'securityProtocol changed',
    ],
    [
      'MQTT host',
      (s: ReturnType<typeof settings>) => {
        (s.eventSinks.mqtt[0] as { broker: string }).broker = 'mqtt.attacker.example';
      },
      '/settings_json/eventSinks/mqtt/0/password',
      'broker changed',
    ],
    [
      'Kusto ingestion URI',
      (s: ReturnType<typeof settings>) => {
        (s.eventSinks.kusto[0] as { ingestionUri: string }).ingestionUri = 'https://attacker.example';
      },
      '/settings_json/eventSinks/kusto/0/clientSecret',
      'ingestionUri changed',
    ],
  ])(
    'an Editor repointing the %s without the secret gets 422 and nothing is stored',
    async (_, change, pointer, message) => {
      const { stored, patchAsEditor } = await setup(t);
      const before = await stored();
      const res = await patchAsEditor(change);
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ pointer, message: expect.stringContaining(message) }),
      ]);
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
      expect(await stored()).toEqual(before);
    },
  );

  it('keeps a stored secret when nothing it is bound to changed, and takes a re-entered one for a new destination', async () => {
    const { stored, patchAsEditor } = await setup(t);
    const kept = await patchAsEditor((s) => {
      (s.eventSinks.webhook[0] as { method: string }).method = 'PUT';
    });
    expect(kept.status).toBe(200);
    expect((await stored()).eventSinks.webhook[0]).toMatchObject({
      method: 'PUT',
      authentication: { token: TOKEN },
    });
    const moved = await patchAsEditor((s) => {
      const hook = s.eventSinks.webhook[0] as { url: string; authentication: Record<string, unknown> };
      hook.url = 'https://new.example/hook';
      hook.authentication.token = 'token-for-the-new-hook';
    });
    expect(moved.status).toBe(200);
    expect((await stored()).eventSinks.webhook[0]).toMatchObject({
      url: 'https://new.example/hook',
      authentication: { token: 'token-for-the-new-hook' },
    });
  });

  it('refuses the same repointing through the settings form, with the message beside the field', async () => {
    const { editor, stored } = await setup(t);
    const before = await stored();
    const page = await t.app.request('/projects/web/resources/graph/settings', { headers: as(editor) });
    const html = await page.text();
    for (const secret of [TOKEN, KAFKA_PASSWORD, MQTT_PASSWORD, KUSTO_SECRET])
      expect(html).not.toContain(secret);
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    expect(fields['settings.eventSinks.webhook[0].authentication.token@stored']).toBe(
      '/eventSinks/webhook/0/authentication/token',
    );
    const attack = { ...fields, 'settings.eventSinks.webhook[0].url': 'https://attacker.example/steal' };
    const refused = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(editor, FORM),
      body: encode({ ...attack, intent: 'save' }),
    });
    expect(refused.status).toBe(422);
    const answer = await refused.text();
    expect(answer).toContain('url changed, so the stored secret is not sent to the new destination');
    expect(answer).not.toContain(TOKEN);
    expect(await stored()).toEqual(before);

    // Changing something else keeps every stored secret.
    const other = { ...fields, 'settings.eventSinks.webhook[0].method': 'PUT', intent: 'save' };
    const saved = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(editor, FORM),
      body: encode(other),
    });
    expect(saved.status).toBe(303);
    expect((await stored()).eventSinks.webhook[0]).toMatchObject({
      method: 'PUT',
      authentication: { token: TOKEN },
    });
  });

  it('offers the project’s Secrets and their keys in secret fields, and stores the reference chosen', async () => {
    const { owner, ownerToken, stored } = await setup(t);
    const secret = await t.app.request('/api/v1/projects/web/resources', {
      method: 'POST',
      headers: bearer(ownerToken),
      body: JSON.stringify({
        resource_id: 'creds',
        name: 'Creds',
        type: SECRET_TYPE_ID,
        sku: 'free',
        settings_json: { entries: { hookToken: 'secret-entry-value-77' } },
      }),
    });
    expect(secret.status).toBe(201);
    const page = await t.app.request('/projects/web/resources/graph/settings', { headers: as(owner) });
    const html = await page.text();
    expect(html).toContain('name="settings.eventSinks.webhook[0].authentication.token@ref"');
    expect(html).toContain('value="creds/hookToken"');
    expect(html).not.toContain('secret-entry-value-77');
    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    fields['settings.eventSinks.webhook[0].authentication.token@ref'] = 'creds/hookToken';
    const saved = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(owner, FORM),
      body: encode({ ...fields, intent: 'save' }),
    });
    expect(saved.status).toBe(303);
    const ref = { valueFrom: { secretKeyRef: { name: 'creds', key: 'hookToken' } } };
    expect((await stored()).eventSinks.webhook[0]?.authentication).toEqual({ type: 'Bearer', token: ref });
    // The form shows the reference chosen, and a missing key is refused at the field.
    const again = await (
      await t.app.request('/projects/web/resources/graph/settings', { headers: as(owner) })
    ).text();
    expect(again).toMatch(/<option value="creds\/hookToken" selected/);
    const next = submittedFields(
      again.slice(again.indexOf('id="settings-form"'), again.indexOf('id="raw-settings"')),
    );
    next['settings.eventSinks.webhook[0].authentication.token@ref'] = 'creds/nokey';
    const refused = await t.app.request('/projects/web/resources/graph/settings', {
      method: 'POST',
      headers: as(owner, FORM),
      body: encode({ ...next, intent: 'save' }),
    });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('the Secret &quot;creds&quot; has no key &quot;nokey&quot;');
  });
});
