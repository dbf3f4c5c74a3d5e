/**
 * `npm run operator:simulate`: runs the operator simulator (scripts/operator-simulator), a TEST
 * DOUBLE of db-query-operator, against the configured database, so a local ktrlplane shows live
 * deployments. It reads deploy/operator, runs the manifests' queries and status updates as the
 * operator would, and deploys nothing.
 *
 *   npm run operator:simulate            poll until Ctrl-C
 *   npm run operator:simulate -- --once  one reconcile pass, then one more once the fake rollouts
 *                                        have settled; prints what it did and exits
 *
 * Settings (environment): DATABASE_URL / DATA_DIR as for ktrlplane; SIMULATOR_READY_SECONDS
 * (default 3) is how long a fake rollout takes; SIMULATOR_DEGRADED lists resource ids (comma
 * separated) whose rollout fails, to see a Degraded workload; SIMULATOR_MANIFESTS_DIR overrides
 * deploy/operator.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { createLogger } from '../src/lib/logger.ts';
import {
  OperatorSimulator,
  type ReconcileReport,
  TEST_DOUBLE_NOTICE,
} from './operator-simulator/simulator.ts';

const once = process.argv.includes('--once');

function numberFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a number of seconds (0 or more), not "${text}"`);
    process.exit(1);
  }
  return value;
}

async function main() {
  const config = loadConfig(process.env);
  console.error(`\n  ${TEST_DOUBLE_NOTICE}.\n`);
  if (!config.DATABASE_URL) {
    if (!once) {
      console.error(
        [
          'DATABASE_URL is not set, and the embedded database (PGlite in DATA_DIR) cannot be shared by two',
          'processes: the simulator could not run beside ktrlplane. Either run both against PostgreSQL',
          '(DATABASE_URL=postgres://… for each), or use `npm run demo`, which runs the simulator inside',
          'the server. `--once` works on PGlite while ktrlplane is stopped.',
        ].join('\n'),
      );
      process.exit(1);
    }
    console.error(`Using PGlite in ${config.DATA_DIR}: make sure ktrlplane is not running on it.`);
  }
  const readyAfterMs = numberFromEnv('SIMULATOR_READY_SECONDS', 3) * 1000;
  const degradedIds = new Set(
    (process.env.SIMULATOR_DEGRADED ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  );
  const manifestsDir =
    process.env.SIMULATOR_MANIFESTS_DIR ?? fileURLToPath(new URL('../deploy/operator/', import.meta.url));
  const logger = createLogger(
    { level: config.LOG_LEVEL, format: config.LOG_FORMAT },
    { component: 'operator-simulator' },
  );
  const database = await openNodeDatabase(config);
  const simulator = new OperatorSimulator({
    db: database.db,
    manifestsDir,
    readyAfterMs,
    logger,
    degraded: (child) => degradedIds.has(child.name),
  });

  if (once) {
    try {
      printReports(await simulator.reconcileOnce());
      if (simulator.children().some((child) => child.settlesAt !== null)) {
        await new Promise((resolve) => setTimeout(resolve, readyAfterMs));
        printReports(await simulator.pollOnce());
      }
    } finally {
      await database.close();
    }
    return;
  }

  await simulator.start();
  const shutdown = async () => {
    await simulator.stop();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

function printReports(reports: ReconcileReport[]) {
  for (const report of reports) {
    console.log(
      `${report.manifest}: ${report.full ? `${report.rows} row(s), ${report.created.length} created, ${report.updated.length} updated, ${report.pruned.length} pruned, ` : ''}${report.statusWrites.length} status write(s)`,
    );
    for (const skipped of report.skipped) console.log(`  row ${skipped.row} skipped: ${skipped.error}`);
    for (const error of report.errors) console.log(`  error: ${error}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
