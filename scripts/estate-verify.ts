/**
 * `npm run estate:verify`: runs the production db-query-operator queries against the configured
 * database, read-only, and prints what each returns: the check after a switch-over that the
 * operator will keep seeing every namespace, graph, secret and Auth0 client (deploy/switch-over.md).
 * `--json` prints the same as one JSON document (to diff before and after).
 */
import { sql } from 'kysely';
import { ConfigError, loadConfig } from '../src/config.ts';
import { PRODUCTION_QUERIES } from '../src/db/adopt/production-queries.ts';
import { openNodeDatabase } from '../src/db/dialects/node.ts';

const asJson = process.argv.includes('--json');

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

try {
  const config = loadConfig(process.env);
  const database = await openNodeDatabase(config);
  try {
    const answers: Record<string, Array<Record<string, unknown>>> = {};
    for (const query of PRODUCTION_QUERIES) {
      const result = await database.db.transaction().execute(async (trx) => {
        // Read-only, whatever the query says.
        await sql`SET TRANSACTION READ ONLY`.execute(trx);
        return sql.raw<Record<string, unknown>>(query.sql.replace(/;\s*$/, '')).execute(trx);
      });
      answers[query.name] = result.rows;
    }
    if (asJson) console.log(JSON.stringify(answers, null, 2));
    else
      for (const query of PRODUCTION_QUERIES) {
        const rows = answers[query.name] ?? [];
        console.log(`\n== ${query.name}: ${rows.length} row(s)\n${query.sql}`);
        for (const row of rows)
          console.log(
            `  ${Object.entries(row)
              .map(([key, value]) => `${key}=${cell(value)}`)
              .join('  ')}`,
          );
      }
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
