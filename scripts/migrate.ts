/** `npm run migrate`: applies pending migrations to the configured database and says what it did. */
import { ConfigError, loadConfig } from '../src/config.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

try {
  const config = loadConfig(process.env);
  const database = await openNodeDatabase(config);
  try {
    const target = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${config.DATA_DIR}`;
    const { applied } = await migrateToLatest(database.db);
    if (applied.length === 0) console.log(`${target}: schema is current, nothing to apply.`);
    else
      console.log(
        `${target}: applied ${applied.length} migration(s):\n${applied.map((name) => `  ${name}`).join('\n')}`,
      );
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
