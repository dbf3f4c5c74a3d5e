import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperatorSimulator, type ReconcileReport } from '../../scripts/operator-simulator/simulator.ts';
import { manualClock } from '../../src/lib/clock.ts';
import { createOrgFor, createProjectFor, signUpUser } from '../helpers/fixtures.ts';
import { graphSettings, insertResource, OPERATOR_MANIFESTS_DIR } from '../helpers/operator.ts';
import { useTestApp } from '../helpers/test-app.ts';

/** The operator simulator driven one pass at a time, on a clock the test moves. */
describe('operator simulator', () => {
  const t = useTestApp();
  const READY_MS = 3000;
  let clock: ReturnType<typeof manualClock>;
  let simulator: OperatorSimulator;

  beforeEach(async () => {
    const owner = await signUpUser(t, 'owner@example.com');
    await createOrgFor(t, owner, 'Acme', 'acme');
    await createProjectFor(t, owner, 'acme', 'Shop', 'shop');
    // Starts at the real time: rows get their updated_at from the database's clock, and change
    // detection compares it with the simulator's (a fixed date in the past made every row "newer").
    clock = manualClock(new Date());
    simulator = new OperatorSimulator({
      db: t.database.db,
      manifestsDir: OPERATOR_MANIFESTS_DIR,
      clock,
      readyAfterMs: READY_MS,
      degraded: (child) => child.name.startsWith('broken-'),
    });
  });
  afterEach(async () => {
    await simulator.stop();
  });

  const row = (id: string) =>
    t.database.db
      .selectFrom('ktrlplane.resources')
      .select(['status', 'error_message', 'access_url', 'generation', 'observed_generation'])
      .where('resource_id', '=', id)
      .executeTakeFirstOrThrow();
  const history = async (id: string) =>
    (
      await t.database.db
        .selectFrom('ktrlplane.resource_deployments')
        .select(['status', 'generation', 'observed_generation'])
        .where('resource_id', '=', id)
        .orderBy('event_id')
        .execute()
    ).map((event) => `${event.status} ${event.generation}/${event.observed_generation ?? '-'}`);
  const child = (kind: string, name: string) =>
    simulator.children().find((c) => c.object.kind === kind && c.object.metadata.name === name);
  const errors = (reports: ReconcileReport[]) => reports.flatMap((report) => report.errors);
  const changeSettings = (id: string, settings: Record<string, unknown>) =>
    t.database.db
      .updateTable('ktrlplane.resources')
      .set((eb) => ({ settings_json: JSON.stringify(settings), generation: eb('generation', '+', 1) }))
      .where('resource_id', '=', id)
      .execute();

  it('takes a resource from Progressing to Healthy, then through a settings change, then lets go of it', async () => {
    await insertResource(t, {
      resource_id: 'graph',
      project_id: 'shop',
      type: 'Konnektr.Graph',
      settings: graphSettings,
    });

    expect(errors(await simulator.reconcileOnce())).toEqual([]);
    expect(await row('graph')).toMatchObject({
      status: 'Progressing',
      observed_generation: null,
      access_url: null,
    });
    expect(child('Namespace', 'shop')?.object.status).toEqual({ phase: 'Active' });
    expect(child('Secret', 'graph-event-sinks')?.object.metadata.namespace).toBe('shop');
    expect(child('HelmRelease', 'graph')?.object.metadata.annotations?.['ktrlplane.io/generation']).toBe('1');

    // Nothing has moved yet: no status write.
    let reports = await simulator.reconcileOnce();
    expect(reports.flatMap((report) => report.statusWrites)).toEqual([]);

    clock.advance(READY_MS);
    reports = await simulator.reconcileOnce();
    expect(reports.flatMap((report) => report.statusWrites)).toHaveLength(1);
    expect(await row('graph')).toEqual({
      status: 'Healthy',
      error_message: null,
      access_url: 'https://graph.api.graph.konnektr.io',
      generation: 1,
      observed_generation: 1,
    });

    // A settings change: the release is updated, shows Progressing with the old generation
    // observed ("changes pending"), then Healthy with the new one ("applied").
    await changeSettings('graph', { ...graphSettings, instances: 5 });
    reports = await simulator.reconcileOnce();
    expect(reports.find((r) => r.manifest === 'ktrlplane-digitaltwins')?.updated).toEqual([
      'helm.toolkit.fluxcd.io/v2/HelmRelease/shop/graph',
    ]);
    const release = child('HelmRelease', 'graph')?.object;
    expect(release?.metadata.generation).toBe(2);
    expect(release?.spec).toMatchObject({ values: { cluster: { cluster: { instances: 5 } } } });
    expect(await row('graph')).toMatchObject({
      status: 'Progressing',
      generation: 2,
      observed_generation: 1,
    });
    clock.advance(READY_MS);
    await simulator.reconcileOnce();
    expect(await row('graph')).toMatchObject({ status: 'Healthy', generation: 2, observed_generation: 2 });

    // A change of the sinks alone: the Secret is re-applied (its generation annotation moved) and
    // the release's requestedAt makes helm-controller reconcile although its spec is unchanged.
    const sinks = structuredClone(graphSettings.eventSinks);
    sinks.webhook = [];
    await changeSettings('graph', { ...graphSettings, instances: 5, eventSinks: sinks });
    reports = await simulator.reconcileOnce();
    expect(reports.flatMap((r) => r.updated).sort()).toEqual([
      '/v1/Secret/shop/graph-event-sinks',
      'helm.toolkit.fluxcd.io/v2/HelmRelease/shop/graph',
    ]);
    expect(child('HelmRelease', 'graph')?.object.metadata.generation).toBe(2);
    expect(JSON.stringify(child('Secret', 'graph-event-sinks')?.object.stringData)).not.toContain(
      'hooks.example.com',
    );
    expect(await row('graph')).toMatchObject({
      status: 'Progressing',
      generation: 3,
      observed_generation: 2,
    });
    clock.advance(READY_MS);
    await simulator.reconcileOnce();
    expect(await row('graph')).toMatchObject({ status: 'Healthy', observed_generation: 3 });

    expect(await history('graph')).toEqual([
      'Pending 1/-',
      'Progressing 1/-',
      'Healthy 1/1',
      'Healthy 2/1',
      'Progressing 2/1',
      'Healthy 2/2',
      'Healthy 3/2',
      'Progressing 3/2',
      'Healthy 3/3',
    ]);

    // Undeployed: the row leaves the queries, everything is pruned and nothing is written any more.
    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({ deployment_state: 'undeployed', status: 'Undeploying' })
      .where('resource_id', '=', 'graph')
      .execute();
    const before = await history('graph');
    reports = await simulator.reconcileOnce();
    expect(reports.flatMap((r) => r.pruned).sort()).toEqual([
      '/v1/Namespace//shop',
      '/v1/Secret/shop/graph-event-sinks',
      'helm.toolkit.fluxcd.io/v2/HelmRelease/shop/graph',
    ]);
    clock.advance(READY_MS);
    reports = await simulator.reconcileOnce();
    expect(reports.flatMap((r) => r.statusWrites)).toEqual([]);
    expect(simulator.children()).toEqual([]);
    expect(await row('graph')).toMatchObject({ status: 'Undeploying', observed_generation: 3 });
    expect(await history('graph')).toEqual(before);
  });

  it('reports a failed rollout as Degraded with the controller’s message', async () => {
    await insertResource(t, {
      resource_id: 'broken-flow',
      project_id: 'shop',
      type: 'Konnektr.Flows',
      settings: {},
    });
    await simulator.reconcileOnce();
    clock.advance(READY_MS);
    await simulator.reconcileOnce();
    expect(await row('broken-flow')).toMatchObject({
      status: 'Degraded',
      error_message:
        "Helm install failed for release shop/broken-flow with chart flows@0.1.0: simulated failure: the workload's pods did not become ready",
      observed_generation: null,
      access_url: null,
    });
  });

  it('polls like the operator: a full reconcile at pollInterval or when change detection sees a newer row', async () => {
    await insertResource(t, {
      resource_id: 'flow',
      project_id: 'shop',
      type: 'Konnektr.Flows',
      settings: {},
    });
    const full = (reports: ReconcileReport[]) =>
      reports.filter((report) => report.full).map((report) => report.manifest);
    const every = [
      'ktrlplane-digitaltwins-event-sinks',
      'ktrlplane-digitaltwins',
      'ktrlplane-flows',
      'ktrlplane-namespaces',
      'ktrlplane-secrets',
    ];

    expect(full(await simulator.pollOnce())).toEqual(every); // first run
    clock.advance(1000);
    // The first change check looks back to the epoch, as the operator's does.
    expect(full(await simulator.pollOnce())).toEqual(every);
    clock.advance(5000);
    expect(full(await simulator.pollOnce())).toEqual([]); // changePollInterval (10s) not reached
    clock.advance(5000);
    expect(full(await simulator.pollOnce())).toEqual([]); // checked: nothing newer
    // The rollout settles between polls and its status is written without a full reconcile.
    expect(await row('flow')).toMatchObject({ status: 'Healthy', observed_generation: 1 });

    await t.database.db
      .updateTable('ktrlplane.resources')
      .set({
        settings_json: JSON.stringify({ replicas: 2 }),
        updated_at: new Date(clock.now().getTime() + 500),
      })
      .where('resource_id', '=', 'flow')
      .execute();
    clock.advance(10_000);
    const reports = await simulator.pollOnce();
    expect(full(reports)).toEqual(every);
    expect(reports.find((r) => r.manifest === 'ktrlplane-flows')?.updated).toHaveLength(1);

    clock.advance(30_000);
    expect(full(await simulator.pollOnce())).toEqual([]);
    clock.advance(30_000); // a minute since the last full reconcile: pollInterval
    expect(full(await simulator.pollOnce())).toEqual(every);
  });

  it('skips a row whose template fails, and prunes what it had rendered for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktrlplane-dbqr-'));
    try {
      await writeFile(
        join(dir, 'labels.yaml'),
        [
          'apiVersion: konnektr.io/v1alpha1',
          'kind: DatabaseQueryResource',
          'metadata: { name: labels, namespace: ktrlplane }',
          'spec:',
          '  pollInterval: 1m',
          '  database: { type: postgres, connectionSecretRef: { name: db, uriKey: uri } }',
          '  query: SELECT resource_id::text AS resource_id, settings_json FROM ktrlplane.resources ORDER BY 1',
          '  template: |',
          '    apiVersion: v1',
          '    kind: ConfigMap',
          '    metadata:',
          '      name: {{ .Row.resource_id }}',
          '    data:',
          '      label: {{ .Row.settings_json.label | replace "-" "_" | quote }}',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: { name: not-a-dbqr }',
        ].join('\n'),
      );
      const custom = new OperatorSimulator({ db: t.database.db, manifestsDir: dir, clock });
      await insertResource(t, {
        resource_id: 'a',
        project_id: 'shop',
        type: 'x',
        settings: { label: 'one-two' },
      });
      await insertResource(t, {
        resource_id: 'b',
        project_id: 'shop',
        type: 'x',
        settings: { label: 'three' },
      });
      let [report] = await custom.reconcileOnce();
      expect(report?.created).toEqual(['/v1/ConfigMap/ktrlplane/a', '/v1/ConfigMap/ktrlplane/b']);
      expect(custom.children()[0]?.object.data).toEqual({ label: 'one_two' });

      // A setting the template needs goes missing: that row's template fails, its object goes.
      await t.database.db
        .updateTable('ktrlplane.resources')
        .set({ settings_json: JSON.stringify({}) })
        .where('resource_id', '=', 'a')
        .execute();
      [report] = await custom.reconcileOnce();
      expect(report?.skipped).toEqual([
        { row: 0, error: expect.stringContaining('invalid value; expected string (argument 3 of replace)') },
      ]);
      expect(report?.pruned).toEqual(['/v1/ConfigMap/ktrlplane/a']);
      expect(custom.children().map((c) => c.key)).toEqual(['/v1/ConfigMap/ktrlplane/b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs in the background after start() and says it is a test double', async () => {
    const lines: Array<{ msg: string }> = [];
    const record = (msg: string) => lines.push({ msg });
    const background = new OperatorSimulator({
      db: t.database.db,
      manifestsDir: OPERATOR_MANIFESTS_DIR,
      readyAfterMs: 0,
      tickMs: 20,
      logger: { debug: record, info: record, warn: record, error: record },
    });
    await insertResource(t, {
      resource_id: 'flow',
      project_id: 'shop',
      type: 'Konnektr.Flows',
      settings: {},
    });
    await background.start();
    try {
      await expect.poll(async () => (await row('flow')).status, { timeout: 5000 }).toBe('Healthy');
    } finally {
      await background.stop();
    }
    expect(lines[0]?.msg).toMatch(/TEST DOUBLE of db-query-operator/);
    expect(lines.filter((line) => /failed/.test(line.msg))).toEqual([]);
  });

  it('refuses a folder without manifests and a manifest that is not valid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktrlplane-dbqr-'));
    try {
      const empty = new OperatorSimulator({ db: t.database.db, manifestsDir: dir });
      await expect(empty.reconcileOnce()).rejects.toThrow(/no DatabaseQueryResource manifests/);
      await writeFile(
        join(dir, 'bad.yaml'),
        'apiVersion: konnektr.io/v1alpha1\nkind: DatabaseQueryResource\nmetadata: { name: bad }\nspec: { pollInterval: soon, query: "SELECT 1", template: x, database: { connectionSecretRef: { name: db } } }\n',
      );
      const bad = new OperatorSimulator({ db: t.database.db, manifestsDir: dir });
      await expect(bad.reconcileOnce()).rejects.toThrow(/spec.pollInterval: use a Go duration/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
