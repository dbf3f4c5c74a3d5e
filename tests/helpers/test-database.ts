import { readFile } from 'node:fs/promises';
import { type Kysely, sql } from 'kysely';
import { inject } from 'vitest';
import { type DatabaseHandle, openPglite, openPostgres } from '../../src/db/dialects/node.ts';
import type { Database } from '../../src/db/types.ts';
import { databaseUrl } from './pg-urls.ts';

export const usingPostgresServer = Boolean(process.env.TEST_DATABASE_URL);

/**
 * A migrated database of the test file's own: a clone of the template on a real server, or a
 * PGlite loaded from the migrated snapshot. Closing it drops the clone. `url` is the clone's
 * address on a real server (for a second session, such as a LISTEN connection).
 */
export async function openTestDatabase(): Promise<DatabaseHandle & { url?: string }> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    const snapshot = await readFile(inject('pgliteSnapshot'));
    return openPglite(undefined, { loadDataDir: new Blob([snapshot]) });
  }
  const name = `ktrlplane_t_${crypto.randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = openPostgres(serverUrl, { max: 1, onIdleClientError: () => {} });
  await sql.raw(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`).execute(admin.db);
  // The test drops its database WITH (FORCE) at the end, which cuts pooled connections that
  // pg-pool has not finished closing yet; that is expected here, not worth a log line.
  const handle = openPostgres(databaseUrl(serverUrl, name), { max: 5, onIdleClientError: () => {} });
  return {
    ...handle,
    url: databaseUrl(serverUrl, name),
    close: async () => {
      await handle.close();
      await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
      await admin.close();
    },
  };
}

/** Tables the migrations seed; every other table in schema ktrlplane is emptied between tests. */
const SEEDED_TABLES = new Set([
  'roles',
  'permissions',
  'role_permissions',
  'resource_type_meters',
  'schema_migrations',
  'schema_migrations_lock',
]);

export async function truncateData(db: Kysely<Database>): Promise<void> {
  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'ktrlplane' AND table_type = 'BASE TABLE'`.execute(db);
  const names = tables.rows.map((row) => row.table_name).filter((name) => !SEEDED_TABLES.has(name));
  if (names.length > 0) {
    await sql.raw(`TRUNCATE ${names.map((name) => `ktrlplane.${name}`).join(', ')} CASCADE`).execute(db);
  }
}
