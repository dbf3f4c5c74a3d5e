import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { TestProject } from 'vitest/node';
import { openPglite, openPostgres } from '../../src/db/dialects/node.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { databaseUrl } from './pg-urls.ts';

/**
 * Migrations run once per test run: into a template database on a real server (each test file
 * then clones it with CREATE DATABASE … TEMPLATE), or into a PGlite whose data directory is dumped
 * to a file (each test file loads it). Both are far faster than migrating per file.
 */
export default async function setup(project: TestProject) {
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    const template = `ktrlplane_tmpl_${process.pid}`;
    const admin = openPostgres(serverUrl, { max: 1 });
    await sql.raw(`DROP DATABASE IF EXISTS ${template}`).execute(admin.db);
    await sql.raw(`CREATE DATABASE ${template}`).execute(admin.db);
    const templateDb = openPostgres(databaseUrl(serverUrl, template), { max: 1 });
    await migrateToLatest(templateDb.db);
    await templateDb.close();
    project.provide('pgTemplate', template);
    return async () => {
      await sql.raw(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).execute(admin.db);
      await admin.close();
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'ktrlplane-test-'));
  const snapshot = join(dir, 'migrated.tar.gz');
  const pglite = await openPglite(undefined);
  await migrateToLatest(pglite.db);
  await writeFile(snapshot, Buffer.from(await (await pglite.pglite.dumpDataDir('gzip')).arrayBuffer()));
  await pglite.close();
  project.provide('pgliteSnapshot', snapshot);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
    pgliteSnapshot: string;
  }
}
