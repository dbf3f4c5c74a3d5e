import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/types.ts';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import type { Logger } from '../../src/lib/logger.ts';
import { goJson, type ParsedGoTemplate, parseGoTemplate, renderGoTemplate } from './go-template.ts';
import {
  type DatabaseQueryResource,
  loadDatabaseQueryResources,
  parseGoDuration,
  parseYaml1_1,
  splitStatements,
} from './manifests.ts';

/**
 * A TEST DOUBLE of db-query-operator, for development, demos and tests. It reads the
 * DatabaseQueryResource manifests in deploy/operator, runs their queries against the database
 * exactly as written, renders each row's template (with the Go-template subset of
 * go-template.ts) into a child object that lives only in memory, makes up a status for it the way
 * its controller would (a Flux HelmRelease goes Progressing, then Ready after `readyAfterMs`), and
 * runs each `statusUpdateQueryTemplate` whenever a child's resourceVersion changes — so ktrlplane
 * sees the same SQL the real operator would send. Nothing is deployed anywhere.
 *
 * Like the operator, it re-applies an object only when its spec, data, labels or annotations
 * changed (stringData alone does not count), skips a row whose template fails (and then prunes its
 * object), prunes objects whose row left the result set, honours pollInterval and change
 * detection, and never lets one manifest's failure stop the others.
 */

export const TEST_DOUBLE_NOTICE =
  'operator simulator: this is a TEST DOUBLE of db-query-operator — it deploys nothing; its child objects live in memory and their status is simulated';

export type SimulatorLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
  };
  status?: Record<string, unknown>;
};

export interface FakeChild {
  /** group/version/kind/namespace/name, as the operator lists its managed resources. */
  key: string;
  /** The DatabaseQueryResource that owns it. */
  manager: string;
  object: KubeObject;
  /** What the operator compares before applying: spec, data, labels and annotations. */
  appliedConfig: string;
  /** When its fake controller finishes rolling it out (clock milliseconds), or null when settled. */
  settlesAt: number | null;
  /** The resourceVersion the status template last ran for successfully. */
  statusWrittenFor: string | null;
}

export interface ReconcileReport {
  manifest: string;
  /** False when this pass only wrote status changes (no poll was due and nothing changed). */
  full: boolean;
  rows: number;
  created: string[];
  updated: string[];
  pruned: string[];
  /** Rows whose template failed: skipped, so their objects are pruned. */
  skipped: Array<{ row: number; error: string }>;
  /** Children whose status template ran, and the rows it changed. */
  statusWrites: Array<{ child: string; rowsChanged: number }>;
  errors: string[];
}

export interface OperatorSimulatorOptions {
  db: Kysely<Database>;
  /** The folder of DatabaseQueryResource manifests (deploy/operator). */
  manifestsDir: string;
  clock?: Clock;
  /** How long a fake controller takes to roll an object out (default 3000). */
  readyAfterMs?: number;
  logger?: SimulatorLogger;
  /** How often start()'s loop looks at the clock, like the operator's watch events (default 1000). */
  tickMs?: number;
  /** Workloads whose rollout should fail (Degraded), e.g. to show a failure in a demo. */
  degraded?: (child: { kind: string; namespace: string | undefined; name: string }) => boolean;
}

interface Managed {
  manifest: DatabaseQueryResource;
  template: ParsedGoTemplate;
  statusTemplate: ParsedGoTemplate | null;
  pollIntervalMs: number;
  changeDetection: { table: string; column: string; intervalMs: number } | null;
  children: Map<string, FakeChild>;
  lastPollAt: number | null;
  lastChangeCheckAt: number | null;
}

const silentLogger: SimulatorLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Kinds that live outside namespaces; everything else gets the manifest's namespace by default. */
const CLUSTER_SCOPED = new Set([
  'v1/Namespace',
  'v1/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'storage.k8s.io/StorageClass',
]);

const LAST_APPLIED_ANNOTATION = 'konnektr.io/last-applied-configuration';
const MANAGED_BY_LABEL = 'konnektr.io/managed-by';

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class OperatorSimulator {
  private readonly db: Kysely<Database>;
  private readonly manifestsDir: string;
  private readonly clock: Clock;
  private readonly readyAfterMs: number;
  private readonly logger: SimulatorLogger;
  private readonly tickMs: number;
  private readonly degraded: NonNullable<OperatorSimulatorOptions['degraded']>;
  private managed: Managed[] | null = null;
  private resourceVersion = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(options: OperatorSimulatorOptions) {
    this.db = options.db;
    this.manifestsDir = options.manifestsDir;
    this.clock = options.clock ?? systemClock;
    this.readyAfterMs = options.readyAfterMs ?? 3000;
    this.logger = options.logger ?? silentLogger;
    this.tickMs = options.tickMs ?? 1000;
    this.degraded = options.degraded ?? (() => false);
  }

  /** Loads the manifests (errors surface here) and polls every `tickMs` until stop(). */
  async start(): Promise<void> {
    if (this.running) return;
    const managed = await this.load();
    this.running = true;
    this.logger.warn(TEST_DOUBLE_NOTICE, {
      manifests: managed.map((m) => m.manifest.metadata.name),
      ready_after_ms: this.readyAfterMs,
    });
    const loop = async () => {
      try {
        await this.pollOnce();
      } catch (error) {
        this.logger.error('operator simulator: poll failed', { error: errorMessage(error) });
      }
      if (this.running) this.timer = setTimeout(loop, this.tickMs);
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Stops the loop and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.queue.catch(() => {});
  }

  /** One full reconcile of every manifest now, whatever the intervals say, then status writes. */
  reconcileOnce(): Promise<ReconcileReport[]> {
    return this.serialised(async () => {
      const managed = await this.load();
      const now = this.clock.now().getTime();
      this.settleDue(now);
      const reports: ReconcileReport[] = [];
      for (const m of managed) {
        const report = await this.fullReconcile(m, now);
        await this.writeStatuses(m, report);
        reports.push(report);
      }
      return reports;
    });
  }

  /**
   * One tick of the loop: settles rollouts that are due and writes their status (the operator
   * hears of child changes through watches at once), and runs a full reconcile of a manifest only
   * when its pollInterval has passed or its change detection query finds a newer row.
   */
  pollOnce(): Promise<ReconcileReport[]> {
    return this.serialised(async () => {
      const managed = await this.load();
      const now = this.clock.now().getTime();
      this.settleDue(now);
      const reports: ReconcileReport[] = [];
      for (const m of managed) {
        const report = (await this.reconcileDue(m, now))
          ? await this.fullReconcile(m, now)
          : emptyReport(m.manifest.metadata.name, false);
        await this.writeStatuses(m, report);
        reports.push(report);
      }
      return reports;
    });
  }

  /** The child objects as they are now (copies), for tests and demos. */
  children(): FakeChild[] {
    return (this.managed ?? []).flatMap((m) =>
      [...m.children.values()].map((child) => structuredClone(child)),
    );
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => {});
    return next;
  }

  private async load(): Promise<Managed[]> {
    if (this.managed) return this.managed;
    const manifests = await loadDatabaseQueryResources(this.manifestsDir);
    if (manifests.length === 0) throw new Error(`no DatabaseQueryResource manifests in ${this.manifestsDir}`);
    this.managed = manifests.map((manifest) => {
      const name = manifest.metadata.name;
      const detection = manifest.spec.changeDetection;
      return {
        manifest,
        // Parse errors stop the simulator at once, as the operator refuses an invalid template.
        template: parseGoTemplate(manifest.spec.template, `${name}.template`),
        statusTemplate: manifest.spec.statusUpdateQueryTemplate
          ? parseGoTemplate(manifest.spec.statusUpdateQueryTemplate, `${name}.statusUpdateQueryTemplate`)
          : null,
        pollIntervalMs: parseGoDuration(manifest.spec.pollInterval),
        changeDetection: detection?.enabled
          ? {
              table: detection.tableName,
              column: detection.timestampColumn,
              intervalMs: parseGoDuration(detection.changePollInterval),
            }
          : null,
        children: new Map(),
        lastPollAt: null,
        lastChangeCheckAt: null,
      };
    });
    return this.managed;
  }

  /** The operator's shouldReconcile: first run, pollInterval reached, or changes detected. */
  private async reconcileDue(m: Managed, now: number): Promise<boolean> {
    if (m.lastPollAt === null || now - m.lastPollAt >= m.pollIntervalMs) return true;
    const detection = m.changeDetection;
    if (!detection) return false;
    if (m.lastChangeCheckAt !== null && now - m.lastChangeCheckAt < detection.intervalMs) return false;
    // The check time is taken before the query (the operator takes it after), so a row committed
    // while the query runs is seen by the next check rather than only by the next full poll.
    const since = new Date(m.lastChangeCheckAt ?? 0).toISOString();
    m.lastChangeCheckAt = now;
    try {
      const { rows } = await sql
        .raw(`SELECT 1 FROM ${detection.table} WHERE ${detection.column} > '${since}' LIMIT 1`)
        .execute(this.db);
      return rows.length > 0;
    } catch (error) {
      this.logger.error('operator simulator: change detection failed, reconciling fully', {
        dbqr: m.manifest.metadata.name,
        error: errorMessage(error),
      });
      return true;
    }
  }

  private async query(text: string): Promise<Array<Record<string, unknown>>> {
    const statements = splitStatements(text);
    const last = statements.pop();
    if (last === undefined) throw new Error('no statements to execute');
    // One connection for all statements, as the operator uses one.
    return this.db.connection().execute(async (connection) => {
      for (const statement of statements) await sql.raw(statement).execute(connection);
      const { rows } = await sql.raw<Record<string, unknown>>(last).execute(connection);
      return rows;
    });
  }

  private async fullReconcile(m: Managed, now: number): Promise<ReconcileReport> {
    const name = m.manifest.metadata.name;
    const report = emptyReport(name, true);
    m.lastPollAt = now;
    let rows: Array<Record<string, unknown>>;
    try {
      rows = await this.query(m.manifest.spec.query);
    } catch (error) {
      // Like the operator: a failed query changes nothing, not even pruning.
      report.errors.push(`query failed: ${errorMessage(error)}`);
      this.logger.error('operator simulator: query failed', { dbqr: name, error: errorMessage(error) });
      return report;
    }
    report.rows = rows.length;

    const desired = new Map<string, KubeObject>();
    rows.forEach((row, index) => {
      try {
        const object = this.renderChild(m, row);
        desired.set(this.keyOf(object), object);
      } catch (error) {
        report.skipped.push({ row: index, error: errorMessage(error) });
        this.logger.warn('operator simulator: row skipped, its object will be pruned', {
          dbqr: name,
          row: index,
          error: errorMessage(error),
        });
      }
    });

    for (const [key, object] of desired) {
      const outcome = this.apply(m, key, object, now);
      if (outcome === 'created') report.created.push(key);
      if (outcome === 'updated') report.updated.push(key);
    }
    if (m.manifest.spec.prune) {
      for (const key of [...m.children.keys()]) {
        if (desired.has(key)) continue;
        m.children.delete(key);
        report.pruned.push(key);
      }
    }
    if (report.created.length + report.updated.length + report.pruned.length > 0) {
      this.logger.info('operator simulator: reconciled', {
        dbqr: name,
        rows: report.rows,
        created: report.created,
        updated: report.updated,
        pruned: report.pruned,
      });
    }
    return report;
  }

  private renderChild(m: Managed, row: Record<string, unknown>): KubeObject {
    const text = renderGoTemplate(m.template, { Row: row });
    const [document] = parseYaml1_1(text, `${m.manifest.metadata.name}.template output`);
    if (!isRecord(document)) throw new Error('the template did not render an object');
    const { apiVersion, kind, metadata } = document;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !isRecord(metadata))
      throw new Error('the rendered object has no apiVersion, kind or metadata');
    if (typeof metadata.name !== 'string' || metadata.name === '')
      throw new Error('the rendered object has no metadata.name');
    for (const field of ['labels', 'annotations'] as const) {
      const map = metadata[field];
      if (map === undefined || map === null) continue;
      if (!isRecord(map) || Object.values(map).some((value) => typeof value !== 'string'))
        throw new Error(`metadata.${field} must map to strings (quote numbers and booleans)`);
    }
    const object = structuredClone(document) as KubeObject;
    const { group } = groupVersion(apiVersion);
    if (CLUSTER_SCOPED.has(`${group || 'v1'}/${kind}`)) delete object.metadata.namespace;
    else if (typeof object.metadata.namespace !== 'string' || object.metadata.namespace === '')
      object.metadata.namespace = m.manifest.metadata.namespace ?? 'default';
    object.metadata.labels = {
      ...(object.metadata.labels ?? {}),
      [MANAGED_BY_LABEL]: m.manifest.metadata.name,
    };
    return object;
  }

  private keyOf(object: KubeObject): string {
    const { group, version } = groupVersion(object.apiVersion);
    return `${group}/${version}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
  }

  private nextResourceVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private apply(
    m: Managed,
    key: string,
    desired: KubeObject,
    now: number,
  ): 'created' | 'updated' | 'unchanged' {
    const config = goJson({
      spec: desired.spec,
      data: desired.data,
      labels: desired.metadata.labels,
      annotations: desired.metadata.annotations,
    });
    const existing = m.children.get(key);
    if (existing && existing.appliedConfig === config) return 'unchanged';
    const previous = existing?.object;
    const specChanged = !previous || goJson(previous.spec) !== goJson(desired.spec);
    const object = structuredClone(desired);
    object.metadata = {
      ...object.metadata,
      annotations: { ...(object.metadata.annotations ?? {}), [LAST_APPLIED_ANNOTATION]: config },
      uid: previous?.metadata.uid ?? crypto.randomUUID(),
      creationTimestamp: previous?.metadata.creationTimestamp ?? new Date(now).toISOString(),
      generation: (previous?.metadata.generation ?? 0) + (specChanged ? 1 : 0),
      resourceVersion: this.nextResourceVersion(),
    };
    if (previous?.status) object.status = previous.status;
    const child: FakeChild = existing ?? {
      key,
      manager: m.manifest.metadata.name,
      object,
      appliedConfig: config,
      settlesAt: null,
      statusWrittenFor: null,
    };
    child.object = object;
    child.appliedConfig = config;
    m.children.set(key, child);
    const controller = controllerFor(object);
    controller?.begin(object, new Date(now));
    child.settlesAt = controller?.rollsOut ? now + this.readyAfterMs : null;
    return existing ? 'updated' : 'created';
  }

  /** Finishes the rollouts that are due: the fake controller reports the outcome. */
  private settleDue(now: number): void {
    for (const m of this.managed ?? []) {
      for (const child of m.children.values()) {
        if (child.settlesAt === null || child.settlesAt > now) continue;
        const object = child.object;
        const fails = this.degraded({
          kind: object.kind,
          namespace: object.metadata.namespace,
          name: object.metadata.name,
        });
        controllerFor(object)?.settle(object, new Date(now), fails);
        object.metadata.resourceVersion = this.nextResourceVersion();
        child.settlesAt = null;
      }
    }
  }

  private async writeStatuses(m: Managed, report: ReconcileReport): Promise<void> {
    if (!m.statusTemplate) return;
    for (const child of m.children.values()) {
      const version = child.object.metadata.resourceVersion ?? '';
      if (child.statusWrittenFor === version) continue;
      let statement: string;
      try {
        statement = renderGoTemplate(m.statusTemplate, { Resource: child.object });
      } catch (error) {
        report.errors.push(`status template for ${child.key}: ${errorMessage(error)}`);
        this.logger.error('operator simulator: status template failed', {
          dbqr: m.manifest.metadata.name,
          child: child.key,
          error: errorMessage(error),
        });
        continue;
      }
      try {
        const result = await sql.raw(statement).execute(this.db);
        const rowsChanged = Number(result.numAffectedRows ?? 0n);
        child.statusWrittenFor = version;
        report.statusWrites.push({ child: child.key, rowsChanged });
        this.logger.debug('operator simulator: status written', {
          dbqr: m.manifest.metadata.name,
          child: child.key,
          resource_version: version,
          rows: rowsChanged,
        });
      } catch (error) {
        // Not recorded as written: the next pass tries again, as the operator does.
        report.errors.push(`status update for ${child.key}: ${errorMessage(error)}`);
        this.logger.error('operator simulator: status update failed', {
          dbqr: m.manifest.metadata.name,
          child: child.key,
          error: errorMessage(error),
        });
      }
    }
  }
}

function emptyReport(manifest: string, full: boolean): ReconcileReport {
  return {
    manifest,
    full,
    rows: 0,
    created: [],
    updated: [],
    pruned: [],
    skipped: [],
    statusWrites: [],
    errors: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Fake controllers: what the real controller of a kind would write into its status.

interface FakeController {
  /** Whether a change takes a rollout (readyAfterMs) before settle(); otherwise begin() is all. */
  rollsOut: boolean;
  /** The object was created or changed: the controller starts rolling it out. */
  begin(object: KubeObject, now: Date): void;
  /** The rollout finished, successfully or not. */
  settle(object: KubeObject, now: Date, failed: boolean): void;
}

function controllerFor(object: KubeObject): FakeController | null {
  const { group } = groupVersion(object.apiVersion);
  if (group === 'helm.toolkit.fluxcd.io' && object.kind === 'HelmRelease') return fluxHelmRelease;
  if (group === '' && object.kind === 'Namespace') return namespaceController;
  return null;
}

function condition(
  type: string,
  status: string,
  reason: string,
  message: string,
  generation: unknown,
  now: Date,
) {
  return {
    type,
    status,
    reason,
    message,
    observedGeneration: generation,
    lastTransitionTime: now.toISOString(),
  };
}

/** helm-controller (Flux v2): Reconciling while it installs or upgrades, then Ready or Stalled. */
const fluxHelmRelease: FakeController = {
  rollsOut: true,
  begin(object, now) {
    const previous = object.status ?? {};
    const generation = object.metadata.generation;
    object.status = {
      ...previous,
      conditions: [
        condition('Reconciling', 'True', 'Progressing', 'Fulfilling prerequisites', generation, now),
        condition('Ready', 'Unknown', 'Progressing', 'Reconciliation in progress', generation, now),
      ],
    };
  },
  settle(object, now, failed) {
    const previous = object.status ?? {};
    const history = Array.isArray(previous.history) ? previous.history : [];
    const action = history.length === 0 ? 'install' : 'upgrade';
    const Action = action === 'install' ? 'Install' : 'Upgrade';
    const spec = isRecord(object.spec) ? object.spec : {};
    const chartSpec = isRecord(spec.chart) && isRecord(spec.chart.spec) ? spec.chart.spec : {};
    const chart = `${String(chartSpec.chart ?? 'chart')}@${String(chartSpec.version ?? '0.0.0')}`;
    const release = `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
    const generation = object.metadata.generation;
    const requestedAt = object.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'];
    const handled = requestedAt === undefined ? {} : { lastHandledReconcileAt: requestedAt };
    if (failed) {
      const message = `Helm ${action} failed for release ${release} with chart ${chart}: simulated failure: the workload's pods did not become ready`;
      object.status = {
        ...previous,
        ...handled,
        observedGeneration: generation,
        conditions: [
          condition('Ready', 'False', `${Action}Failed`, message, generation, now),
          condition('Released', 'False', `${Action}Failed`, message, generation, now),
          condition(
            'Stalled',
            'True',
            'RetriesExceeded',
            `Failed to ${action} after 3 attempt(s)`,
            generation,
            now,
          ),
        ],
      };
      return;
    }
    const version = history.length + 1;
    const message = `Helm ${action} succeeded for release ${release}.v${version} with chart ${chart}`;
    object.status = {
      ...previous,
      ...handled,
      observedGeneration: generation,
      lastAttemptedRevision: String(chartSpec.version ?? ''),
      history: [
        { name: object.metadata.name, version, status: 'deployed', chartVersion: chart },
        ...history,
      ].slice(0, 5),
      conditions: [
        condition('Ready', 'True', `${Action}Succeeded`, message, generation, now),
        condition('Released', 'True', `${Action}Succeeded`, message, generation, now),
      ],
    };
  },
};

/** A Namespace is Active as soon as it exists. */
const namespaceController: FakeController = {
  rollsOut: false,
  begin(object) {
    object.status = { phase: 'Active' };
  },
  settle() {},
};
