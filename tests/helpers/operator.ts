import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { renderGoTemplate } from '../../scripts/operator-simulator/go-template.ts';
import {
  type DatabaseQueryResource,
  parseYaml1_1,
  splitStatements,
} from '../../scripts/operator-simulator/manifests.ts';
import type { KubeObject } from '../../scripts/operator-simulator/simulator.ts';
import type { DeploymentState } from '../../src/db/types.ts';
import { digitalTwinsSettings } from '../../src/schemas/resource-types/digital-twins.ts';
import { flowsSettings } from '../../src/schemas/resource-types/flows.ts';
import { createOrgFor, createProjectFor, signUpUser } from './fixtures.ts';
import type { TestContext } from './test-app.ts';

/** The manifests db-query-operator is given in production. */
export const OPERATOR_MANIFESTS_DIR = fileURLToPath(new URL('../../deploy/operator/', import.meta.url));

/** Secret settings planted in the fixtures, so a test can look for where they end up. */
export const KAFKA_PASSWORD = "kafka-pa'ss<&>word";
export const WEBHOOK_TOKEN = 'webhook-bearer-token-0123456789';

/** Valid settings of each type (parsed by the type's own schema, defaults filled in). */
export const graphSettings = digitalTwinsSettings.parse({
  instances: 3,
  eventSinks: {
    kafka: [
      {
        name: 'kafka-events',
        brokerList: 'kafka-0.example.com:9093',
        topic: 'twins',
        securityProtocol: 'SASL_SSL',
        saslMechanism: 'PLAIN',
        saslUsername: 'svc',
        saslPassword: KAFKA_PASSWORD,
      },
    ],
    webhook: [
      {
        name: 'hook',
        url: 'https://hooks.example.com/twins',
        method: 'POST',
        authentication: { type: 'Bearer', token: WEBHOOK_TOKEN },
      },
    ],
  },
  eventRoutes: [
    {
      name: 'all-changes',
      sinkName: 'kafka-events',
      eventFormat: 'EventNotification',
      filters: ["type = 'x'"],
    },
  ],
  database: { storageClass: 'fast-ssd', storageSize: '50Gi', backupEnabled: false },
});

export const flowSettings = flowsSettings.parse({
  replicas: 2,
  memoryLimit: '1Gi',
  cpuLimit: '750m',
  environment: { GREETING: `it's "fine"`, EMPTY: '' },
});

export async function insertResource(
  t: TestContext,
  row: {
    resource_id: string;
    project_id: string;
    type: string;
    settings: Record<string, unknown>;
    deployment_state?: DeploymentState;
    generation?: number;
    sku?: string;
  },
) {
  await t.database.db
    .insertInto('ktrlplane.resources')
    .values({
      resource_id: row.resource_id,
      project_id: row.project_id,
      name: row.resource_id,
      type: row.type,
      sku: row.sku ?? 'standard',
      settings_json: row.settings,
      deployment_state: row.deployment_state ?? 'deployed',
      generation: row.generation ?? 1,
    })
    .execute();
}

/**
 * An organization `acme` with projects `shop` (resources in every state and of every type),
 * `idle` (only an undeployed one) and `kube-system` (an id the queries must never deploy into).
 */
export async function seedOperatorFixtures(t: TestContext) {
  const owner = await signUpUser(t, 'owner@example.com');
  await createOrgFor(t, owner, 'Acme', 'acme');
  await createProjectFor(t, owner, 'acme', 'Shop', 'shop');
  await createProjectFor(t, owner, 'acme', 'Idle', 'idle');
  await createProjectFor(t, owner, 'acme', 'System', 'kube-system');
  const dt = 'Konnektr.Graph';
  const fl = 'Konnektr.Flows';
  await insertResource(t, {
    resource_id: 'graph-live',
    project_id: 'shop',
    type: dt,
    settings: graphSettings,
    generation: 4,
  });
  await insertResource(t, {
    resource_id: 'graph-off',
    project_id: 'shop',
    type: dt,
    settings: graphSettings,
    deployment_state: 'undeployed',
  });
  await insertResource(t, {
    resource_id: 'graph-gone',
    project_id: 'shop',
    type: dt,
    settings: graphSettings,
    deployment_state: 'deleting',
  });
  await insertResource(t, {
    resource_id: 'graph-sys',
    project_id: 'kube-system',
    type: dt,
    settings: graphSettings,
  });
  await insertResource(t, {
    resource_id: 'flow-live',
    project_id: 'shop',
    type: fl,
    settings: flowSettings,
    generation: 2,
  });
  await insertResource(t, {
    resource_id: 'flow-off',
    project_id: 'idle',
    type: fl,
    settings: flowSettings,
    deployment_state: 'undeployed',
  });
  // A Secret without entries: its manifest's query runs without the operator's key installed
  // (tests/integration/operator-secrets.test.ts covers entries and the key).
  await insertResource(t, {
    resource_id: 'secret-live',
    project_id: 'shop',
    type: 'Konnektr.Secret',
    settings: { entries: {} },
  });
  await insertResource(t, {
    resource_id: 'other-live',
    project_id: 'shop',
    type: 'Konnektr.Other',
    settings: {},
  });
}

/** A manifest's query as db-query-operator runs it: rows from its last statement. */
export async function runManifestQuery(
  db: TestContext['database']['db'],
  manifest: DatabaseQueryResource,
): Promise<Array<Record<string, unknown>>> {
  const statements = splitStatements(manifest.spec.query);
  const last = statements.pop() ?? '';
  for (const statement of statements) await sql.raw(statement).execute(db);
  return (await sql.raw<Record<string, unknown>>(last).execute(db)).rows;
}

/** The object a row's template renders (the first YAML document, read as Kubernetes reads it). */
export function renderRow(manifest: DatabaseQueryResource, row: Record<string, unknown>): KubeObject {
  const text = renderGoTemplate(manifest.spec.template, { Row: row }, `${manifest.metadata.name}.template`);
  return parseYaml1_1(text, manifest.metadata.name)[0] as KubeObject;
}

/** The SQL a status template renders for a child object. */
export function renderStatusUpdate(manifest: DatabaseQueryResource, child: KubeObject): string {
  const template = manifest.spec.statusUpdateQueryTemplate;
  if (!template) throw new Error(`${manifest.metadata.name} has no statusUpdateQueryTemplate`);
  return renderGoTemplate(
    template,
    { Resource: child },
    `${manifest.metadata.name}.statusUpdateQueryTemplate`,
  );
}

export function byName(manifests: DatabaseQueryResource[], name: string): DatabaseQueryResource {
  const found = manifests.find((manifest) => manifest.metadata.name === name);
  if (!found) throw new Error(`no manifest ${name} in deploy/operator`);
  return found;
}
