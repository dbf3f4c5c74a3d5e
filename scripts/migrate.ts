/** `npm run migrate`: applies pending migrations to the configured database and says what it did. */
import { ConfigError, loadConfig } from '../src/config.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { syncResourceTypes } from '../src/services/resource-types.ts';

try {
  const config = loadConfig(process.env);
  const database = await openNodeDatabase(config);
  try {
    const target = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.DATA_DIR}`;
    const { applied } = await migrateToLatest(database.db);
    // The resource type catalogue in ktrlplane.resource_types follows the code being deployed.
    const catalogue = await syncResourceTypes(database.db, new Date());
    if (applied.length === 0) console.log(`${target}: schema is current, nothing to apply.`);
    else
      console.log(
        `${target}: applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`,
      );
    console.log(
      `resource types: ${catalogue.inserted.length} added, ${catalogue.updated.length} updated, ${catalogue.deactivated.length} deactivated`,
    );
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
