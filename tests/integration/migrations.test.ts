import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { openPostgres } from '../../src/db/dialects/node.ts';
import { migrateToLatest, pendingMigrations } from '../../src/db/migrate.ts';
import { databaseUrl } from '../helpers/pg-urls.ts';
import { useTestApp } from '../helpers/test-app.ts';

describe('migrations', () => {
  const t = useTestApp();

  it('leave nothing pending and are a no-op when run again', async () => {
    expect(await pendingMigrations(t.database.db)).toEqual([]);
    expect(await migrateToLatest(t.database.db)).toEqual({ applied: [] });
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    'apply exactly once when two instances start at the same time',
    async () => {
      const serverUrl = process.env.TEST_DATABASE_URL ?? '';
      const name = `ktrlplane_race_${Date.now()}`;
      const admin = openPostgres(serverUrl, { max: 1 });
      await sql.raw(`CREATE DATABASE ${name}`).execute(admin.db);
      const a = openPostgres(databaseUrl(serverUrl, name), { max: 2 });
      const b = openPostgres(databaseUrl(serverUrl, name), { max: 2 });
      try {
        const results = await Promise.all([migrateToLatest(a.db), migrateToLatest(b.db)]);
        const applied = results.flatMap((result) => result.applied).sort();
        expect(applied).toEqual(Object.keys(migrations).sort());
        const roles = await sql<{ n: number }>`SELECT count(*) AS n FROM ktrlplane.roles`.execute(a.db);
        expect(roles.rows[0]?.n).toBe(8);
      } finally {
        await a.close();
        await b.close();
        await sql.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).execute(admin.db);
        await admin.close();
      }
    },
  );
});
