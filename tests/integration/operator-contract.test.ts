import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { referencedPaths } from '../../scripts/operator-simulator/go-template.ts';
import {
  type DatabaseQueryResource,
  loadDatabaseQueryResources,
  parseYaml1_1,
} from '../../scripts/operator-simulator/manifests.ts';
import { type KubeObject, OperatorSimulator } from '../../scripts/operator-simulator/simulator.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import type { Database } from '../../src/db/types.ts';
import { getResourceType } from '../../src/schemas/resource-types/registry.ts';
import { expandPointer } from '../../src/services/secret-settings.ts';
import {
  byName,
  flowSettings,
  graphSettings,
  KAFKA_PASSWORD,
  OPERATOR_MANIFESTS_DIR,
  renderRow,
  renderStatusUpdate,
  runManifestQuery,
  seedOperatorFixtures,
  WEBHOOK_TOKEN,
} from '../helpers/operator.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { useTestApp } from '../helpers/test-app.ts';
import { usingPostgresServer } from '../helpers/test-database.ts';

/**
 * The contract between ktrlplane's schema and the db-query-operator manifests in deploy/operator:
 * every query runs unchanged against the migrated database and returns exactly what its template
 * reads, and every status template renders SQL that writes the status back (and into the
 * history). Go cannot run here: templates are rendered with the simulator's Go-template subset,
 * which refuses anything it does not implement, and their references are checked by parsing.
 */

const NAMESPACES = 'ktrlplane-namespaces';
const DT_SINKS = 'ktrlplane-digitaltwins-event-sinks';
const DT = 'ktrlplane-digitaltwins';
const FLOWS = 'ktrlplane-flows';

function pointerGet(value: unknown, pointer: string): unknown {
  let node = value;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return node;
}

function dottedGet(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every string in a decoded object, keys included. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (isObject(value)) return Object.entries(value).flatMap(([key, item]) => [key, ...stringsIn(item)]);
  return [];
}

/** helm-controller's merge: valuesFrom in order, then spec.values over them. */
function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

describe('db-query-operator manifests (deploy/operator)', () => {
  const t = useTestApp();
  let manifests: DatabaseQueryResource[];

  beforeAll(async () => {
    manifests = await loadDatabaseQueryResources(OPERATOR_MANIFESTS_DIR);
  });
  beforeEach(async () => {
    await seedOperatorFixtures(t);
  });

  const rowsOf = async (name: string) => runManifestQuery(t.database.db, byName(manifests, name));
  const resourceRow = (id: string) =>
    t.database.db
      .selectFrom('ktrlplane.resources')
      .select([
        'status',
        'error_message',
        'access_url',
        'generation',
        'observed_generation',
        'deployment_state',
      ])
      .where('resource_id', '=', id)
      .executeTakeFirstOrThrow();
  const lastEvent = (id: string) =>
    t.database.db
      .selectFrom('ktrlplane.resource_deployments')
      .selectAll()
      .where('resource_id', '=', id)
      .orderBy('event_id', 'desc')
      .executeTakeFirst();
  const execute = async (statement: string, db: Kysely<Database> = t.database.db) =>
    Number((await sql.raw(statement).execute(db)).numAffectedRows ?? 0n);

  it('has a manifest per resource type and one for namespaces, all with change detection on updated_at', () => {
    expect(manifests.map((m) => m.metadata.name).sort()).toEqual([
      DT,
      DT_SINKS,
      FLOWS,
      NAMESPACES,
      'ktrlplane-secrets',
    ]);
    for (const manifest of manifests) {
      expect(manifest.apiVersion).toBe('konnektr.io/v1alpha1');
      expect(manifest.spec.prune).toBe(true);
      expect(manifest.spec.database.connectionSecretRef.uriKey).toBe('uri');
      expect(manifest.spec.changeDetection).toMatchObject({
        enabled: true,
        tableName: 'ktrlplane.resources',
        timestampColumn: 'updated_at',
      });
    }
  });

  it('templates read only their context: rows in row templates, the child object in status templates', () => {
    for (const manifest of manifests) {
      const rowPaths = referencedPaths(manifest.spec.template);
      expect(rowPaths.length).toBeGreaterThan(0);
      for (const path of rowPaths)
        expect(path[0], `${manifest.metadata.name}: .${path.join('.')}`).toBe('Row');
      if (manifest.spec.statusUpdateQueryTemplate) {
        for (const path of referencedPaths(manifest.spec.statusUpdateQueryTemplate))
          expect(path[0], `${manifest.metadata.name}: .${path.join('.')}`).toBe('Resource');
      }
    }
    expect(
      manifests
        .filter((m) => m.spec.statusUpdateQueryTemplate)
        .map((m) => m.metadata.name)
        .sort(),
    ).toEqual([DT, FLOWS, 'ktrlplane-secrets']);
  });

  it('each query runs unchanged and returns every column its template reads, and no other', async () => {
    for (const manifest of manifests) {
      const rows = await runManifestQuery(t.database.db, manifest);
      expect(rows.length, manifest.metadata.name).toBeGreaterThan(0);
      const columns = Object.keys(rows[0] as object).sort();
      const read = [
        ...new Set(referencedPaths(manifest.spec.template).map((path) => path[1] as string)),
      ].sort();
      expect(read, manifest.metadata.name).toEqual(columns);
    }
  });

  it('queries leave out undeployed and deleting rows, other types, and ids of system namespaces', async () => {
    const ids = async (name: string, column = 'resource_id') =>
      (await rowsOf(name)).map((row) => row[column]);
    expect(await ids(DT)).toEqual(['graph-live']);
    expect(await ids(DT_SINKS)).toEqual(['graph-live']);
    expect(await ids(FLOWS)).toEqual(['flow-live']);
    // idle has only an undeployed resource; kube-system must never become a tenant's namespace.
    expect(await ids(NAMESPACES, 'project_id')).toEqual(['shop']);
  });

  it('JSON columns arrive decoded as objects, ids as text and generations as numbers', async () => {
    const [graph] = await rowsOf(DT);
    expect(graph).toMatchObject({
      resource_id: 'graph-live',
      project_id: 'shop',
      sku: 'standard',
      generation: 4,
    });
    const { eventSinks: _sinks, ...withoutSinks } = graphSettings;
    expect(graph?.settings_json).toEqual(withoutSinks);
    const [sinks] = await rowsOf(DT_SINKS);
    expect(sinks?.event_sinks).toEqual(graphSettings.eventSinks);
    const [flow] = await rowsOf(FLOWS);
    expect(flow?.settings_json).toEqual(flowSettings);
    expect(flow?.generation).toBe(2);
    const [namespace] = await rowsOf(NAMESPACES);
    expect(namespace).toEqual({ project_id: 'shop', org_id: 'acme' });
  });

  it('renders a namespace per project with its tenant labels', async () => {
    const [row] = await rowsOf(NAMESPACES);
    const namespace = renderRow(byName(manifests, NAMESPACES), row as Record<string, unknown>);
    expect(namespace).toMatchObject({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'shop',
        labels: { 'ktrlplane.io/project-id': 'shop', 'ktrlplane.io/org-id': 'acme' },
      },
    });
  });

  it.each([
    [DT, 'Konnektr.Graph', 'graph-live', graphSettings as Record<string, unknown>],
    [FLOWS, 'Konnektr.Flows', 'flow-live', flowSettings as Record<string, unknown>],
  ])(
    '%s puts every setting where the type’s deployment spec says, and no secret in plain values',
    async (name, typeName, id, settings) => {
      const type = getResourceType(typeName);
      if (!type) throw new Error(`no type ${typeName}`);
      const [row] = await rowsOf(name);
      const release = renderRow(byName(manifests, name), row as Record<string, unknown>);
      expect(release).toMatchObject({
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: {
          name: id,
          namespace: 'shop',
          annotations: {
            'ktrlplane.io/generation': String(row?.generation),
            'ktrlplane.io/access-url': (type.deployment.access_url_template ?? '').replace(
              '{resource_id}',
              id,
            ),
            'reconcile.fluxcd.io/requestedAt': `generation-${row?.generation}`,
          },
        },
        spec: {
          chart: { spec: { chart: type.deployment.helm_chart, version: type.deployment.chart_version } },
        },
      });
      const spec = release.spec as {
        values: Record<string, unknown>;
        valuesFrom?: Array<Record<string, string>>;
      };

      // Values from Secrets, rendered by the other manifests for the same row, merged as Flux does.
      let values: Record<string, unknown> = {};
      const secretValuesFiles: unknown[] = [];
      for (const reference of spec.valuesFrom ?? []) {
        const candidates = await Promise.all(
          manifests
            .filter((m) => m.metadata.name !== name)
            .map(async (m) => {
              const [other] = (await runManifestQuery(t.database.db, m)).filter((r) => r.resource_id === id);
              return other ? renderRow(m, other) : null;
            }),
        );
        const secret = candidates.find(
          (object) => object?.kind === 'Secret' && object.metadata.name === reference.name,
        );
        expect(secret, `Secret ${reference.name}`).toBeDefined();
        expect(secret?.metadata.namespace).toBe(release.metadata.namespace);
        const stringData = (secret?.stringData ?? {}) as Record<string, string>;
        const text = stringData[reference.valuesKey as string] as string;
        const fromSecret = parseYaml1_1(text, reference.name as string)[0] as Record<string, unknown>;
        secretValuesFiles.push(fromSecret);
        values = deepMerge(values, fromSecret);
      }
      values = deepMerge(values, spec.values);

      for (const { setting, value } of type.deployment.values) {
        expect(dottedGet(values, value), `${setting} → ${value}`).toEqual(pointerGet(settings, setting));
      }
      const secretValues = type.deployment.secret_settings
        .flatMap((pattern) => expandPointer(settings, pattern))
        .map((pointer) => pointerGet(settings, pointer))
        .filter((value): value is string => typeof value === 'string' && value !== '');
      if (typeName === 'Konnektr.Graph') expect(secretValues).toEqual([KAFKA_PASSWORD, WEBHOOK_TOKEN]);
      for (const secret of secretValues) {
        expect(
          stringsIn(release).some((text) => text.includes(secret)),
          'in the HelmRelease',
        ).toBe(false);
        expect(stringsIn(secretValuesFiles), 'in a values Secret').toContain(secret);
      }
    },
  );

  it('row templates render a valid object for a row with empty settings (a failing row would be pruned)', () => {
    const row = {
      resource_id: 'bare',
      project_id: 'shop',
      sku: 'free',
      generation: 1,
      settings_json: {},
      event_sinks: null,
      mcp_enabled: false,
      events_enabled: false,
    };
    for (const manifest of manifests) {
      const text = JSON.stringify(renderRow(manifest, { ...row, org_id: 'acme' }));
      expect(text, manifest.metadata.name).not.toContain('<no value>');
    }
    const release = renderRow(byName(manifests, DT), row);
    expect((release.spec as { values: Record<string, unknown> }).values).toMatchObject({
      cluster: {
        cluster: { instances: 1, storage: { storageClass: 'standard', size: '10Gi' } },
        backups: { enabled: null },
      },
    });
  });

  describe.each([
    [DT, 'graph-live', 4, 'https://graph-live.api.graph.konnektr.io'],
    [FLOWS, 'flow-live', 2, 'https://flow-live.flows.konnektr.io'],
  ])('status template of %s', (name, id, generation, accessUrl) => {
    /** The HelmRelease the operator applied for the row, with what helm-controller reports. */
    async function child(status: Record<string, unknown> | undefined, resourceId = id): Promise<KubeObject> {
      const manifest = byName(manifests, name);
      const rows = await runManifestQuery(t.database.db, manifest);
      const row = rows.find((r) => r.resource_id === resourceId) ?? { ...rows[0], resource_id: resourceId };
      const object = renderRow(manifest, row);
      object.metadata = { ...object.metadata, generation: 1, resourceVersion: '42', uid: 'u-1' };
      if (status) object.status = status;
      return object;
    }
    const ready = (conditionStatus: string, message: string, extra: Record<string, unknown> = {}) => ({
      observedGeneration: 1,
      lastHandledReconcileAt: `generation-${generation}`,
      conditions: [{ type: 'Ready', status: conditionStatus, reason: 'UpgradeSucceeded', message }],
      ...extra,
    });
    const write = async (object: KubeObject) => execute(renderStatusUpdate(byName(manifests, name), object));

    it('writes Progressing before helm-controller has reported anything', async () => {
      expect(await write(await child(undefined))).toBe(1);
      expect(await resourceRow(id)).toMatchObject({
        status: 'Progressing',
        observed_generation: null,
        access_url: null,
      });
      expect(await lastEvent(id)).toMatchObject({ status: 'Progressing', observed_generation: null });
    });

    it('writes Healthy, the observed generation and the access URL once the release is ready and current', async () => {
      expect(await write(await child(ready('True', 'Helm upgrade succeeded')))).toBe(1);
      expect(await resourceRow(id)).toEqual({
        status: 'Healthy',
        error_message: null,
        access_url: accessUrl,
        generation,
        observed_generation: generation,
        deployment_state: 'deployed',
      });
      expect(await lastEvent(id)).toMatchObject({
        status: 'Healthy',
        generation,
        observed_generation: generation,
        message: null,
      });
    });

    it('stays Progressing, keeping the observed generation, until this generation has been handled', async () => {
      await write(await child(ready('True', 'ok')));
      const stale = await child(
        ready('True', 'ok', { lastHandledReconcileAt: `generation-${generation - 1}` }),
      );
      expect(await write(stale)).toBe(1);
      expect(await resourceRow(id)).toMatchObject({ status: 'Progressing', observed_generation: generation });
      const olderSpec = await child(ready('True', 'ok', { observedGeneration: 0 }));
      await write(olderSpec);
      expect(await resourceRow(id)).toMatchObject({ status: 'Progressing' });
    });

    it('writes Degraded with the failure, quotes and backslashes intact, and no observed generation', async () => {
      const message = `Helm upgrade failed: can't pull "img:1" \\ O'Brien's '); DROP TABLE ktrlplane.users; --`;
      const failed = await child({
        ...ready('False', message),
        conditions: [
          { type: 'Ready', status: 'False', reason: 'UpgradeFailed', message },
          {
            type: 'Stalled',
            status: 'True',
            reason: 'RetriesExceeded',
            message: 'Failed to upgrade after 3 attempt(s)',
          },
        ],
      });
      expect(await write(failed)).toBe(1);
      expect(await resourceRow(id)).toMatchObject({
        status: 'Degraded',
        error_message: message,
        observed_generation: null,
      });
      expect(await lastEvent(id)).toMatchObject({ status: 'Degraded', message });
      expect(await t.database.db.selectFrom('ktrlplane.users').select('user_id').execute()).toHaveLength(1);
      // Recovery clears the message.
      await write(await child(ready('True', 'ok')));
      expect(await resourceRow(id)).toMatchObject({ status: 'Healthy', error_message: null });
    });

    it('writes Suspended for a suspended release', async () => {
      const suspended = await child(ready('True', 'ok'));
      (suspended.spec as Record<string, unknown>).suspend = true;
      await write(suspended);
      expect(await resourceRow(id)).toMatchObject({ status: 'Suspended' });
    });

    it('leaves rows that left the query alone: undeployed, deleting, and other types', async () => {
      await t.database.db
        .updateTable('ktrlplane.resources')
        .set({ deployment_state: 'undeployed', status: 'Undeploying' })
        .where('resource_id', '=', id)
        .execute();
      const before = await lastEvent(id);
      expect(await write(await child(ready('True', 'ok')))).toBe(0);
      expect(await resourceRow(id)).toMatchObject({ status: 'Undeploying', observed_generation: null });
      expect(await lastEvent(id)).toEqual(before);
      // A child named like a resource of the other type changes nothing either.
      const otherType = id === 'graph-live' ? 'flow-live' : 'graph-live';
      expect(await write(await child(ready('True', 'ok'), otherType))).toBe(0);
      expect(await resourceRow(otherType)).toMatchObject({ status: 'Pending' });
    });
  });

  it('the change detection query runs as the operator formats it', async () => {
    const detect = (since: string) =>
      sql
        .raw(`SELECT 1 FROM ktrlplane.resources WHERE updated_at > '${since}' LIMIT 1`)
        .execute(t.database.db);
    expect((await detect(new Date(0).toISOString())).rows).toHaveLength(1);
    expect((await detect('2999-01-01T00:00:00Z')).rows).toHaveLength(0);
  });

  describe.runIf(usingPostgresServer)(
    'as the least-privilege role of operator-role.sql (PostgreSQL only)',
    () => {
      const script = () => readFile(join(OPERATOR_MANIFESTS_DIR, 'operator-role.sql'), 'utf8');

      /** Creates the role with a generated name and password, runs `work` connected as it, drops it. */
      async function asOperatorRole(work: (db: Kysely<Database>, role: string) => Promise<void>) {
        const role = `ktrlplane_op_${randomBytes(6).toString('hex')}`;
        const password = randomBytes(18).toString('base64url');
        const admin = t.database.db;
        const apply = async () =>
          admin.connection().execute(async (connection) => {
            await sql`SELECT set_config('ktrlplane.operator_role', ${role}, false),
                           set_config('ktrlplane.operator_password', ${password}, false)`.execute(connection);
            try {
              await sql.raw(await script()).execute(connection);
            } finally {
              await sql`RESET ktrlplane.operator_role; RESET ktrlplane.operator_password`.execute(connection);
            }
          });
        await apply();
        // Running it again converges instead of failing.
        await apply();
        const { rows } = await sql<{ name: string }>`SELECT current_database() AS name`.execute(admin);
        const url = new URL(databaseUrl(process.env.TEST_DATABASE_URL as string, rows[0]?.name as string));
        url.username = role;
        url.password = password;
        const operator = openPostgres(url.toString(), { max: 2, onIdleClientError: () => {} });
        try {
          await work(operator.db, role);
        } finally {
          await operator.close();
          await sql.raw(`DROP OWNED BY ${role}`).execute(admin);
          await sql.raw(`DROP ROLE ${role}`).execute(admin);
        }
      }

      it('is a plain login role', async () => {
        await asOperatorRole(async (db, role) => {
          const { rows } = await sql<Record<string, boolean>>`
          SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolinherit
          FROM pg_roles WHERE rolname = ${role}`.execute(db);
          expect(rows[0]).toEqual({
            rolcanlogin: true,
            rolsuper: false,
            rolcreaterole: false,
            rolcreatedb: false,
            rolreplication: false,
            rolbypassrls: false,
            rolinherit: false,
          });
          const { rows: me } = await sql<{ user: string }>`SELECT current_user AS user`.execute(db);
          expect(me[0]?.user).toBe(role);
        });
      });

      it('runs every query, the change detection and every status update', async () => {
        await asOperatorRole(async (db) => {
          for (const manifest of manifests) {
            const asAdmin = await runManifestQuery(t.database.db, manifest);
            expect(await runManifestQuery(db, manifest), manifest.metadata.name).toEqual(asAdmin);
          }
          await sql
            .raw(`SELECT 1 FROM ktrlplane.resources WHERE updated_at > '1970-01-01T00:00:00Z' LIMIT 1`)
            .execute(db);
          for (const [name, id, generation] of [
            [DT, 'graph-live', 4],
            [FLOWS, 'flow-live', 2],
          ] as const) {
            const manifest = byName(manifests, name);
            const [row] = (await runManifestQuery(db, manifest)).filter((r) => r.resource_id === id);
            const object = renderRow(manifest, row as Record<string, unknown>);
            object.metadata.generation = 1;
            object.status = {
              observedGeneration: 1,
              lastHandledReconcileAt: `generation-${generation}`,
              conditions: [{ type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: 'ok' }],
            };
            expect(await execute(renderStatusUpdate(manifest, object), db)).toBe(1);
            expect(await resourceRow(id)).toMatchObject({
              status: 'Healthy',
              observed_generation: generation,
            });
            expect(await lastEvent(id)).toMatchObject({ status: 'Healthy', observed_generation: generation });
          }
          // The whole loop, as the simulator runs it, needs nothing more.
          const simulator = new OperatorSimulator({
            db,
            manifestsDir: OPERATOR_MANIFESTS_DIR,
            readyAfterMs: 0,
          });
          for (const report of [...(await simulator.reconcileOnce()), ...(await simulator.reconcileOnce())])
            expect(report.errors, report.manifest).toEqual([]);
        });
      });

      it('cannot read other tables or columns, nor write anything but the status columns', async () => {
        await asOperatorRole(async (db) => {
          const denied = [
            `UPDATE ktrlplane.resources SET settings_json = '{}'::jsonb WHERE resource_id = 'graph-live'`,
            `UPDATE ktrlplane.resources SET generation = 1, deployment_state = 'deployed'`,
            `UPDATE ktrlplane.resources SET updated_at = now()`,
            `SELECT * FROM ktrlplane.users`,
            `SELECT email FROM ktrlplane.users`,
            `SELECT password_hash FROM ktrlplane.local_credentials`,
            `SELECT * FROM ktrlplane.sessions`,
            `SELECT * FROM ktrlplane.resources`,
            `SELECT name FROM ktrlplane.resources`,
            `SELECT name FROM ktrlplane.organizations`,
            `SELECT * FROM ktrlplane.resource_deployments`,
            `INSERT INTO ktrlplane.resource_deployments (resource_id, project_id, status, generation, deployment_state) VALUES ('x', 'x', 'x', 1, 'x')`,
            `DELETE FROM ktrlplane.resources`,
            `INSERT INTO ktrlplane.resources (resource_id, project_id, name, type) VALUES ('x', 'shop', 'x', 'x')`,
            `CREATE TABLE ktrlplane.mine (id int)`,
          ];
          for (const statement of denied) {
            await expect(sql.raw(statement).execute(db), statement).rejects.toThrow(/permission denied/);
          }
          const settings = await t.database.db
            .selectFrom('ktrlplane.resources')
            .select('settings_json')
            .where('resource_id', '=', 'graph-live')
            .executeTakeFirstOrThrow();
          expect(settings.settings_json).toEqual(graphSettings);
        });
      });
    },
  );
});
