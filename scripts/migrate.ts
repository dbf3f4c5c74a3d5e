/**
 * `npm run migrate`: applies pending migrations to the configured database and says what it did.
 * A Go service's database is adopted (deploy/switch-over.md). `npm run migrate -- --dry-run` says
 * what a run would do, with the adoption's count per table, and changes nothing.
 */
import { ConfigError, loadConfig } from '../src/config.ts';
import { formatAdoption } from '../src/db/adopt/report.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { migrateToLatest, planMigrations } from '../src/db/migrate.ts';
import { syncResourceTypes } from '../src/services/resource-types.ts';

const dryRun = process.argv.includes('--dry-run');

try {
  const config = loadConfig(process.env);
  const database = await openNodeDatabase(config);
  try {
    const target = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.DATA_DIR}`;
    if (dryRun) {
      const plan = await planMigrations(database.db);
      if (plan.adoption)
        console.log(`${target}: dry run, nothing was changed.\n${formatAdoption(plan.adoption, 'dry-run')}`);
      else if (plan.pending.length === 0)
        console.log(`${target}: dry run: schema is current, nothing to apply.`);
      else
        console.log(
          `${target}: dry run, nothing was changed. Would apply ${plan.pending.length} migration(s):\n${plan.pending.map((name) => `  ${name}`).join('\n')}`,
        );
    } else {
      const { applied, adoption } = await migrateToLatest(database.db);
      // The resource type catalogue in ktrlplane.resource_types follows the code being deployed.
      const catalogue = await syncResourceTypes(database.db, new Date());
      if (adoption) console.log(`${target}:\n${formatAdoption(adoption, 'applied')}`);
      if (applied.length === 0) console.log(`${target}: schema is current, nothing to apply.`);
      else
        console.log(
          `${target}: applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`,
        );
      console.log(
        `resource types: ${catalogue.inserted.length} added, ${catalogue.updated.length} updated, ${catalogue.deactivated.length} deactivated`,
      );
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? error.message
      : error instanceof Error && /^(Unrecognised|Unadoptable)/.test(error.name)
        ? error.message
        : error,
  );
  process.exit(1);
}
