/**
 * Runs the usage reporting job once in a process of its own, against DATABASE_URL (or the PGlite
 * data directory DATA_DIR), with the clock standing at USAGE_NOW — so a test can kill it with
 * SIGKILL in the middle of sending.
 */
import { loadConfig } from '../../src/config.ts';
import { openNodeDatabase } from '../../src/db/dialects/node.ts';
import { reportUsageJob } from '../../src/jobs/report-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { createLogger } from '../../src/lib/logger.ts';

const config = loadConfig(process.env);
const now = new Date(process.env.USAGE_NOW ?? '');
const database = await openNodeDatabase(config);
const logger = createLogger({
  level: 'warn',
  format: 'json',
  write: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write('started\n');
const outcome = await runJob(
  { db: database.db, clock: { now: () => now }, logger, config },
  reportUsageJob,
  'child',
);
process.stdout.write(`${JSON.stringify(outcome)}\n`);
await database.close();
