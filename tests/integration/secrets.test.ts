import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openSecret, sealedKeyId, secretKeyringOf } from '../../src/lib/secret-crypto.ts';
import { SECRET_TYPE_ID } from '../../src/schemas/resource-types/registry.ts';
import { reencryptSecrets } from '../../src/services/secrets.ts';
import { submittedFields } from '../../src/views/forms/submitted-fields.ts';
import { apiTokenFor, as, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { TEST_SECRETS_ENV } from '../helpers/secrets.ts';
import { type TestContext, useTestApp } from '../helpers/test-app.ts';

const PLAIN = 'plaintext-Wq7-never-shown';
const PLAIN_2 = 'second-plaintext-Zx9-never-shown';

/** Everything the app answered or logged during a test, to look for plaintext in. */
function captured(t: TestContext, bodies: string[]): string {
  return [...bodies, JSON.stringify(t.logs)].join('\n');
}

async function auditText(t: TestContext): Promise<string> {
  const rows = await t.database.db.selectFrom('ktrlplane.audit_events').selectAll().execute();
  return JSON.stringify(rows);
}

async function setup(t: TestContext) {
  const ada = await signUpUser(t, 'ada@example.com');
  await createOrgFor(t, ada, 'Acme', 'acme');
  await createProjectFor(t, ada, 'acme', 'Web', 'web');
  await createProjectFor(t, ada, 'acme', 'Other', 'other');
  const token = await apiTokenFor(t, ada);
  const bodies: string[] = [];
  const call = async (method: string, path: string, body?: unknown, tokenValue = token) => {
    const res = await t.app.request(`/api/v1${path}`, {
      method,
      headers: bearer(tokenValue),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, body: text ? JSON.parse(text) : null, text };
  };
  const stored = (id: string) =>
    t.database.db
      .selectFrom('ktrlplane.resources')
      .selectAll()
      .where('resource_id', '=', id)
      .executeTakeFirstOrThrow();
  return { ada, token, call, stored, bodies };
}

describe('Konnektr.Secret', () => {
  const t = useTestApp(TEST_SECRETS_ENV);

  it('stores entries sealed, answers only their keys, and never shows, logs or audits a value', async () => {
    const { call, stored, bodies } = await setup(t);
    const created = await call('POST', '/projects/web/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { password: PLAIN, 'api.token': PLAIN_2 } },
    });
    expect(created.status).toBe(201);
    expect(created.body.settings_json).toEqual({ entries: {} });
    expect(created.body.secrets_set.sort()).toEqual(['/entries/api.token', '/entries/password']);

    const row = await stored('creds');
    const entries = (row.settings_json as { entries: Record<string, string> }).entries;
    expect(Object.keys(entries).sort()).toEqual(['api.token', 'password']);
    for (const value of Object.values(entries)) expect(value).toMatch(/^ksec1\./);
    expect(JSON.stringify(row)).not.toContain(PLAIN);
    const ring = await secretKeyringOf(t.deps.config);
    if (!ring) throw new Error('no keyring');
    expect(await openSecret(ring, 'creds', entries.password as string)).toBe(PLAIN);
    // Bound to its resource: the same sealed text does not open for another one.
    await expect(openSecret(ring, 'other', entries.password as string)).rejects.toThrow(/does not open/);

    // Replace one, keep the other (left out), add a third; then remove one.
    const patched = await call('PATCH', '/projects/web/resources/creds', {
      settings_json: { entries: { password: 'replaced-value', extra: 'x-value' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.secrets_set.sort()).toEqual([
      '/entries/api.token',
      '/entries/extra',
      '/entries/password',
    ]);
    const after = (await stored('creds')).settings_json as { entries: Record<string, string> };
    expect(await openSecret(ring, 'creds', after.entries.password as string)).toBe('replaced-value');

    const got = await call('GET', '/projects/web/resources/creds');
    expect(got.body.settings_json).toEqual({ entries: {} });
    const list = await call('GET', '/projects/web/resources');
    expect(list.status).toBe(200);

    const all = captured(t, bodies) + (await auditText(t));
    for (const plain of [PLAIN, PLAIN_2, 'replaced-value', 'x-value']) expect(all).not.toContain(plain);
    expect(all).not.toMatch(/ksec1\./);
  });

  it('refuses values without configured keys, with a message for the administrator', async () => {
    const { call } = await setup(t);
    const app = t.app;
    // A configuration without keys (a fresh object: keyrings are cached per configuration).
    const noKeys = { ...t.deps.config, SECRETS_ENCRYPTION_KEY: undefined, SECRETS_OPERATOR_KEY: undefined };
    t.app = createApp({ ...t.deps, config: noKeys });
    try {
      const refused = await call('POST', '/projects/web/resources', {
        name: 'Creds',
        type: SECRET_TYPE_ID,
        sku: 'free',
        settings_json: { entries: { password: PLAIN } },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.errors).toMatchObject([
        {
          pointer: '/settings_json/entries/password',
          message: expect.stringContaining('SECRETS_ENCRYPTION_KEY'),
        },
      ]);
      const empty = await call('POST', '/projects/web/resources', {
        name: 'Empty',
        type: SECRET_TYPE_ID,
        sku: 'free',
      });
      expect(empty.status).toBe(201);
    } finally {
      t.app = app;
    }
  });

  it('lets secret settings of other types refer to an entry of a Secret of the same project', async () => {
    const { call, stored, bodies } = await setup(t);
    await call('POST', '/projects/web/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { token: PLAIN } },
    });
    await call('POST', '/projects/other/resources', {
      resource_id: 'elsewhere',
      name: 'Elsewhere',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { token: PLAIN_2 } },
    });
    const ref = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
    const graph = (token: unknown) => ({
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.DigitalTwins',
      sku: 'standard',
      settings_json: {
        eventSinks: {
          webhook: [
            {
              name: 'hook',
              url: 'https://hooks.example.com/twins',
              method: 'POST',
              authentication: { type: 'Bearer', token },
            },
          ],
        },
      },
    });
    const pointer = '/settings_json/eventSinks/webhook/0/authentication/token';

    const missingSecret = await call('POST', '/projects/web/resources', graph(ref('nope', 'token')));
    expect(missingSecret.status).toBe(422);
    expect(missingSecret.body.errors).toMatchObject([
      { pointer, message: expect.stringContaining('no Secret "nope"') },
    ]);
    // A Secret of another project answers exactly as a missing one.
    const foreign = await call('POST', '/projects/web/resources', graph(ref('elsewhere', 'token')));
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors).toMatchObject([
      { pointer, message: expect.stringContaining('no Secret "elsewhere"') },
    ]);
    const missingKey = await call('POST', '/projects/web/resources', graph(ref('creds', 'nokey')));
    expect(missingKey.status).toBe(422);
    expect(missingKey.body.errors).toMatchObject([
      { pointer, message: expect.stringContaining('no key "nokey"') },
    ]);
    const malformed = await call(
      'POST',
      '/projects/web/resources',
      graph({ valueFrom: { secretKeyRef: { name: 'creds' } } }),
    );
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors[0].pointer).toBe(pointer);

    const created = await call('POST', '/projects/web/resources', graph(ref('creds', 'token')));
    expect(created.status).toBe(201);
    // A reference is not a secret: it is answered as stored, and is not listed as a set secret.
    expect(created.body.settings_json.eventSinks.webhook[0].authentication.token).toEqual(
      ref('creds', 'token'),
    );
    expect(created.body.secrets_set).toEqual([]);
    expect((await stored('graph')).settings_json).toMatchObject({
      eventSinks: { webhook: [{ authentication: { token: ref('creds', 'token') } }] },
    });

    // A key in use cannot be removed (null removes a stored secret; left out keeps it).
    const removeKey = await call('PATCH', '/projects/web/resources/creds', {
      settings_json: { entries: { token: null, other: 'v' } },
    });
    expect(removeKey.status).toBe(409);
    expect(removeKey.body.detail).toContain('Graph (graph) at /eventSinks/webhook/0/authentication/token');
    const addKey = await call('PATCH', '/projects/web/resources/creds', {
      settings_json: { entries: { other: 'v-other' } },
    });
    expect(addKey.status).toBe(200);
    expect(addKey.body.secrets_set.sort()).toEqual(['/entries/other', '/entries/token']);
    const removeOther = await call('PATCH', '/projects/web/resources/creds', {
      settings_json: { entries: { other: null } },
    });
    expect(removeOther.status).toBe(200);
    expect(removeOther.body.secrets_set).toEqual(['/entries/token']);
    expect(captured(t, bodies) + (await auditText(t))).not.toContain(PLAIN);
  });

  it('refuses deleting a referenced Secret with 409 naming who uses it', async () => {
    const { call } = await setup(t);
    await call('POST', '/projects/web/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { token: PLAIN } },
    });
    const ref = { valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } };
    const graph = await call('POST', '/projects/web/resources', {
      resource_id: 'graph',
      name: 'Graph',
      type: 'Konnektr.DigitalTwins',
      sku: 'standard',
      settings_json: {
        eventSinks: {
          mqtt: [
            {
              name: 'mq',
              broker: 'mqtt.example.com',
              topic: 't',
              clientId: 'c',
              protocolVersion: '5.0.0',
              username: 'u',
              password: ref,
            },
          ],
        },
      },
    });
    expect(graph.status).toBe(201);
    const refused = await call('DELETE', '/projects/web/resources/creds', { confirm: 'Creds' });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('Graph (graph) at /eventSinks/mqtt/0/password uses key "token"');
  });

  it('rotates keys: old values open through SECRETS_ENCRYPTION_OLD_KEYS until re-encryption moves them to the new keys', async () => {
    const { call, stored } = await setup(t);
    await call('POST', '/projects/web/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { a: PLAIN, b: PLAIN_2 } },
    });
    const oldRing = await secretKeyringOf(t.deps.config);
    const rotated = loadConfig({
      NODE_ENV: 'test',
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 11).toString('base64'),
      SECRETS_ENCRYPTION_OLD_KEYS: TEST_SECRETS_ENV.SECRETS_ENCRYPTION_KEY,
      SECRETS_OPERATOR_KEY: Buffer.alloc(32, 12).toString('base64'),
    });
    const ring = await secretKeyringOf(rotated);
    if (!ring || !oldRing) throw new Error('no keyring');
    const entries = async () =>
      ((await stored('creds')).settings_json as { entries: Record<string, string> }).entries;
    const before = await entries();
    expect(await openSecret(ring, 'creds', before.a as string)).toBe(PLAIN);

    const actor = {
      actorType: 'system' as const,
      actorId: null,
      actorLabel: 'test',
      requestId: null,
      ip: null,
      userAgent: null,
    };
    const dry = await reencryptSecrets(t.database.db, ring, actor, t.clock.now(), { dryRun: true });
    expect(dry).toEqual({ secrets: 1, entries: 2, reencrypted: 2, failed: [] });
    expect(await entries()).toEqual(before);

    const report = await reencryptSecrets(t.database.db, ring, actor, t.clock.now());
    expect(report).toEqual({ secrets: 1, entries: 2, reencrypted: 2, failed: [] });
    const after = await entries();
    for (const value of Object.values(after)) expect(sealedKeyId(value)).toBe(ring.current.id);
    const onlyNew = await secretKeyringOf(
      loadConfig({
        NODE_ENV: 'test',
        SECRETS_ENCRYPTION_KEY: rotated.SECRETS_ENCRYPTION_KEY,
        SECRETS_OPERATOR_KEY: rotated.SECRETS_OPERATOR_KEY,
      }),
    );
    if (!onlyNew) throw new Error('no keyring');
    expect(await openSecret(onlyNew, 'creds', after.b as string)).toBe(PLAIN_2);
    await expect(openSecret(oldRing, 'creds', after.a as string)).rejects.toThrow(/neither/);
    // Again: nothing left to do. The audit says which keys, never a value.
    expect(await reencryptSecrets(t.database.db, ring, actor, t.clock.now())).toMatchObject({
      reencrypted: 0,
    });
    const audit = await auditText(t);
    expect(audit).toContain('secret.reencrypted');
    expect(audit).not.toContain(PLAIN);

    // A value whose key is gone is reported and left alone.
    const lost = await secretKeyringOf(
      loadConfig({
        NODE_ENV: 'test',
        SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 13).toString('base64'),
        SECRETS_OPERATOR_KEY: rotated.SECRETS_OPERATOR_KEY,
      }),
    );
    if (!lost) throw new Error('no keyring');
    const failed = await reencryptSecrets(t.database.db, lost, actor, t.clock.now());
    expect(failed.failed.map((f) => f.key).sort()).toEqual(['a', 'b']);
    expect(await entries()).toEqual(after);
  });

  it('refuses a malformed key at start-up, naming the setting', () => {
    expect(() => loadConfig({ SECRETS_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(
      /SECRETS_ENCRYPTION_KEY: SECRETS_ENCRYPTION_KEY must be 32 bytes/,
    );
    expect(() => loadConfig({ SECRETS_OPERATOR_KEY: '%%%' })).toThrow(/SECRETS_OPERATOR_KEY/);
  });

  it('shows keys with "set" markers in the form, never a value, and adds, replaces and removes entries through it', async () => {
    const { ada, call, stored } = await setup(t);
    await call('POST', '/projects/web/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { alpha: PLAIN, beta: PLAIN_2 } },
    });
    const url = '/projects/web/resources/creds/settings';
    const page = await t.app.request(url, { headers: as(ada) });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain(PLAIN);
    expect(html).not.toContain(PLAIN_2);
    expect(html).not.toMatch(/ksec1\./);
    expect(html).toContain('value="alpha"');
    expect(html).toContain('value="beta"');
    expect(html.match(/set — replace/g)?.length).toBe(2);
    // A Secret's own values cannot refer to another Secret: no picker here.
    expect(html).not.toContain('@ref"');

    const fields = submittedFields(
      html.slice(html.indexOf('id="settings-form"'), html.indexOf('id="raw-settings"')),
    );
    const rowOf = (key: string) =>
      Object.entries(fields)
        .find(([name, value]) => name.endsWith('].key') && value === key)?.[0]
        .slice(0, -'.key'.length);
    const alpha = rowOf('alpha');
    const beta = rowOf('beta');
    if (!alpha || !beta) throw new Error('rows not found');
    const posted: Record<string, string> = {};
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith(`${beta}.`)) continue; // the row removed
      if (typeof value === 'string') posted[name] = value;
    }
    posted[`${alpha}.value`] = 'alpha-replaced-in-form';
    posted['settings.entries[7].key'] = 'gamma';
    posted['settings.entries[7].value'] = 'gamma-added-in-form';
    posted.intent = 'save';
    const saved = await t.app.request(url, {
      method: 'POST',
      headers: as(ada, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      body: new URLSearchParams(posted).toString(),
    });
    expect(saved.status).toBe(303);
    const ring = await secretKeyringOf(t.deps.config);
    if (!ring) throw new Error('no keyring');
    const entries = ((await stored('creds')).settings_json as { entries: Record<string, string> }).entries;
    expect(Object.keys(entries).sort()).toEqual(['alpha', 'gamma']);
    expect(await openSecret(ring, 'creds', entries.alpha as string)).toBe('alpha-replaced-in-form');
    expect(await openSecret(ring, 'creds', entries.gamma as string)).toBe('gamma-added-in-form');
    const after = await (await t.app.request(url, { headers: as(ada) })).text();
    for (const plain of ['alpha-replaced-in-form', 'gamma-added-in-form', PLAIN, PLAIN_2])
      expect(after + JSON.stringify(t.logs) + (await auditText(t))).not.toContain(plain);
  });
});
