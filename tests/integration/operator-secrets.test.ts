import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadDatabaseQueryResources as loadManifests } from '../../scripts/operator-simulator/manifests.ts';
import { OperatorSimulator, type ReconcileReport } from '../../scripts/operator-simulator/simulator.ts';
import { manualClock } from '../../src/lib/clock.ts';
import { SECRET_TYPE_ID } from '../../src/schemas/resource-types/registry.ts';
import { apiTokenFor, bearer, createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { byName, OPERATOR_MANIFESTS_DIR, renderRow, runManifestQuery } from '../helpers/operator.ts';
import { TEST_SECRETS_ENV } from '../helpers/secrets.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { usingPostgresServer } from '../helpers/test-database.ts';

/**
 * deploy/operator/secrets.yaml against a real database: Secrets created through the API, the
 * operator's SQL (operator-secrets.sql) opening their values, the manifest's query and template
 * rendered as the operator would, and the simulator writing status back.
 */

const ENTRIES = {
  password: `it's "quoted" & <tagged>`,
  'multi.line': 'first\nsecond: not yaml',
  unicode: 'grüße 🔑',
};

describe('operator: Konnektr.Secret → Kubernetes Secret', () => {
  const t = useTestApp(TEST_SECRETS_ENV);
  let token: string;

  const script = () => readFile(join(OPERATOR_MANIFESTS_DIR, 'operator-secrets.sql'), 'utf8');
  async function installOperatorKey(key = TEST_SECRETS_ENV.SECRETS_OPERATOR_KEY) {
    await sql.raw(`SET ktrlplane.secrets_operator_key = '${key}'`).execute(t.database.db);
    await sql.raw(await script()).execute(t.database.db);
    await sql.raw('RESET ktrlplane.secrets_operator_key').execute(t.database.db);
  }
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await t.app.request(`/api/v1${path}`, {
      method,
      headers: bearer(token),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };

  beforeEach(async () => {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Shop', 'shop');
    await createProjectFor(t, owner, 'acme', 'System', 'kube-system');
    token = await apiTokenFor(t, owner);
  });

  const manifest = async () => byName(await loadManifests(OPERATOR_MANIFESTS_DIR), 'ktrlplane-secrets');

  it('renders one Secret per Secret resource with its entries in clear text, in the project namespace', async () => {
    expect(
      (
        await api('POST', '/projects/shop/resources', {
          resource_id: 'creds',
          name: 'Creds',
          type: SECRET_TYPE_ID,
          sku: 'free',
          settings_json: { entries: ENTRIES },
        })
      ).status,
    ).toBe(201);
    await api('POST', '/projects/shop/resources', {
      resource_id: 'empty',
      name: 'Empty',
      type: SECRET_TYPE_ID,
      sku: 'free',
    });
    await api('POST', '/projects/kube-system/resources', {
      resource_id: 'sys-creds',
      name: 'Sys',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: { a: 'b' } },
    });
    const secrets = await manifest();

    // Without the operator's key installed the query fails (and so prunes nothing).
    await expect(runManifestQuery(t.database.db, secrets)).rejects.toThrow(/operator's key is not installed/);

    await installOperatorKey();
    const rows = await runManifestQuery(t.database.db, secrets);
    expect(rows.map((row) => row.resource_id)).toEqual(['creds', 'empty']);
    const [creds, empty] = rows;
    expect(creds).toMatchObject({ project_id: 'shop', generation: 1, entries: ENTRIES });
    expect(empty?.entries).toEqual({});

    const object = renderRow(secrets, creds as Record<string, unknown>);
    expect(object).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: 'creds',
        namespace: 'shop',
        labels: { 'ktrlplane.io/resource-id': 'creds', 'konnektr.io/project-id': 'shop' },
        annotations: { 'ktrlplane.io/generation': '1' },
      },
      stringData: ENTRIES,
    });
    expect(renderRow(secrets, empty as Record<string, unknown>).stringData).toEqual({});

    // A replaced value reaches the cluster: the row's generation (the annotation) moves with it.
    await api('PATCH', '/projects/shop/resources/creds', { settings_json: { entries: { password: 'new' } } });
    const [again] = await runManifestQuery(t.database.db, secrets);
    expect(again).toMatchObject({ generation: 2, entries: { ...ENTRIES, password: 'new' } });
    expect(renderRow(secrets, again as Record<string, unknown>).metadata.annotations).toMatchObject({
      'ktrlplane.io/generation': '2',
    });
  });

  it('leaves out an entry that does not open: altered, moved to another Secret, or under another key', async () => {
    for (const id of ['creds', 'other']) {
      await api('POST', '/projects/shop/resources', {
        resource_id: id,
        name: id,
        type: SECRET_TYPE_ID,
        sku: 'free',
        settings_json: { entries: { a: `value-of-${id}`, b: `b-of-${id}` } },
      });
    }
    await installOperatorKey();
    const stored = async (id: string) =>
      (
        await t.database.db
          .selectFrom('ktrlplane.resources')
          .select('settings_json')
          .where('resource_id', '=', id)
          .executeTakeFirstOrThrow()
      ).settings_json as { entries: Record<string, string> };
    const creds = await stored('creds');
    const other = await stored('other');
    const parts = (creds.entries.a as string).split('.');
    // Flip one byte of the operator ciphertext, keeping it base64.
    const ct = Buffer.from(parts[6] as string, 'base64');
    ct[0] = (ct[0] as number) ^ 1;
    parts[6] = ct.toString('base64');
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({
        settings_json: JSON.stringify({ entries: { a: parts.join('.'), b: other.entries.b } }) as never,
      })
      .where('resource_id', '=', 'creds')
      .execute();
    const rows = await runManifestQuery(t.database.db, await manifest());
    expect(rows.find((row) => row.resource_id === 'creds')?.entries).toEqual({});
    expect(rows.find((row) => row.resource_id === 'other')?.entries).toEqual({
      a: 'value-of-other',
      b: 'b-of-other',
    });

    // Installed with another key: nothing opens.
    await installOperatorKey(Buffer.alloc(32, 1).toString('base64'));
    const none = await runManifestQuery(t.database.db, await manifest());
    expect(none.find((row) => row.resource_id === 'other')?.entries).toEqual({});
  });

  it('the simulator applies the Secret and writes Healthy at its generation', async () => {
    await api('POST', '/projects/shop/resources', {
      resource_id: 'creds',
      name: 'Creds',
      type: SECRET_TYPE_ID,
      sku: 'free',
      settings_json: { entries: ENTRIES },
    });
    await installOperatorKey();
    const simulator = new OperatorSimulator({
      db: t.database.db,
      manifestsDir: OPERATOR_MANIFESTS_DIR,
      clock: manualClock(new Date()),
      readyAfterMs: 1000,
    });
    try {
      const reports: ReconcileReport[] = await simulator.reconcileOnce();
      expect(reports.flatMap((report) => report.errors)).toEqual([]);
      const secret = simulator
        .children()
        .find((child) => child.object.kind === 'Secret' && child.object.metadata.name === 'creds');
      expect(secret?.object.metadata.namespace).toBe('shop');
      expect(secret?.object.stringData).toEqual(ENTRIES);
      const row = await t.database.db
        .selectFrom('ktrlplane.resources')
        .select(['status', 'observed_generation', 'generation'])
        .where('resource_id', '=', 'creds')
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'Healthy', observed_generation: 1, generation: 1 });
    } finally {
      await simulator.stop();
    }
  });

  it.runIf(usingPostgresServer)(
    'only the operator role may read the key and open values; ktrlplane-like roles may not (PostgreSQL only)',
    async () => {
      await api('POST', '/projects/shop/resources', {
        resource_id: 'creds',
        name: 'Creds',
        type: SECRET_TYPE_ID,
        sku: 'free',
        settings_json: { entries: { a: 'opened-by-operator' } },
      });
      const suffix = crypto.randomUUID().replaceAll('-', '').slice(0, 8);
      const operator = `op_${suffix}`;
      const stranger = `other_${suffix}`;
      const db = t.database.db;
      try {
        await sql.raw(`SET ktrlplane.operator_role = '${operator}'`).execute(db);
        await sql.raw(await readFile(join(OPERATOR_MANIFESTS_DIR, 'operator-role.sql'), 'utf8')).execute(db);
        await installOperatorKey();
        await sql.raw(`CREATE ROLE ${stranger}`).execute(db);
        await sql.raw(`GRANT USAGE ON SCHEMA ktrlplane TO ${stranger}`).execute(db);
        await sql.raw(`GRANT SELECT ON ktrlplane.resources TO ${stranger}`).execute(db);
        const secrets = await manifest();
        const rowsAs = (role: string) =>
          db.connection().execute(async (connection) => {
            await sql.raw(`SET ROLE ${role}`).execute(connection);
            try {
              return await runManifestQuery(connection, secrets);
            } finally {
              await sql.raw('RESET ROLE').execute(connection);
            }
          });
        expect((await rowsAs(operator)).map((row) => row.entries)).toEqual([{ a: 'opened-by-operator' }]);
        await expect(rowsAs(stranger)).rejects.toThrow(/permission denied/);
        const readKeyAs = (role: string) =>
          db.connection().execute(async (connection) => {
            await sql.raw(`SET ROLE ${role}`).execute(connection);
            try {
              return await sql
                .raw('SELECT secret_key FROM ktrlplane.operator_secrets_key')
                .execute(connection);
            } finally {
              await sql.raw('RESET ROLE').execute(connection);
            }
          });
        await expect(readKeyAs(stranger)).rejects.toThrow(/permission denied/);
      } finally {
        await sql.raw('RESET ktrlplane.operator_role').execute(db);
        for (const role of [operator, stranger]) {
          await sql
            .raw(`DROP OWNED BY ${role}`)
            .execute(db)
            .catch(() => {});
          await sql.raw(`DROP ROLE IF EXISTS ${role}`).execute(db);
        }
      }
    },
  );
});
