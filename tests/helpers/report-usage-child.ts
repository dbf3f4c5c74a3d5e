/**
 * Runs the usage reporting job once in a process of its own, against DATABASE_URL, with the clock
 * standing at USAGE_NOW — so a test can kill it with SIGKILL in the middle of sending.
 */
import { loadConfig } from '../../src/config.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { reportUsageJob } from '../../src/jobs/report-usage.ts';
import { runJob } from '../../src/jobs/run-job.ts';
import { createLogger } from '../../src/lib/logger.ts';

const config = loadConfig(process.env);
if (!config.DATABASE_URL) throw new Error('DATABASE_URL is not set');
const now = new Date(process.env.USAGE_NOW ?? '');
const database = openPostgres(config.DATABASE_URL, { max: 2 });
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
