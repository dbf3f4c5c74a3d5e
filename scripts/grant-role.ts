/** `npm run grant-role -- …`: grants a role from the command line; see scripts/grant-role/command.ts. */
import { ConfigError, loadConfig } from '../src/config.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';
import { pendingMigrations } from '../src/db/migrate.ts';
import { grantRoleCommand } from './grant-role/command.ts';

try {
  const config = loadConfig(process.env);
  const database = await openNodeDatabase(config);
  try {
    const pending = await pendingMigrations(database.db);
    if (pending.length > 0) {
      console.error(`The database has ${pending.length} pending migration(s); run npm run migrate first.`);
      process.exitCode = 1;
    } else {
      const { code, output } = await grantRoleCommand(process.argv.slice(2), {
        db: database.db,
        now: new Date(),
      });
      (code === 0 ? console.log : console.error)(output);
      process.exitCode = code;
    }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 1;
}
