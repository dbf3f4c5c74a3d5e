import { type Kysely, type Migration, sql } from 'kysely';
import { carryTableGrants } from './grants.ts';
import {
  type AdoptionCount,
  countRows,
  mapGoRows,
  type PersonalOrganization,
  unaccountedRows,
} from './map-rows.ts';
import { ADOPTION_ARCHIVE_SCHEMA } from './recognise.ts';
import { findUnadoptableRows, UnadoptableRowsError } from './validate.ts';

/**
 * The last of ktrlplane's migrations whose schema adoption maps the Go rows into. Migrations after
 * it run after the rows are in, like on any other database of ours.
 */
export const ADOPT_AT_MIGRATION = '2026-11-27-0013-usage-history-time-index';

export interface AdoptionReport {
  goVersion: string;
  /** ktrlplane's migrations applied in the same transaction, in order. */
  applied: string[];
  counts: AdoptionCount[];
  personalOrganizations: PersonalOrganization[];
  /** GRANTs repeated on ktrlplane's tables for roles that held them on the Go tables. */
  grants: string[];
  /** Steps with the milliseconds each took. */
  steps: Array<{ step: string; ms: number }>;
}

export class UnaccountedRowsError extends Error {
  constructor(problems: string[]) {
    super(
      `Adoption stopped, not every Go row is accounted for:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'UnaccountedRowsError';
  }
}

/**
 * Upgrades a Go estate to ktrlplane's schema inside the caller's transaction (which holds the
 * migration lock): the Go tables move into schema ktrlplane_go_archive as they are (with Go's
 * public.schema_migrations, so the Go runner cannot mistake the database for its own any more),
 * ktrlplane's migrations build its schema, the rows are mapped in, and the rest of ktrlplane's
 * migrations follow. Any error rolls all of it back, leaving the database as it was.
 */
export async function adoptGoEstate(
  trx: Kysely<unknown>,
  estate: { version: number; legacyTables: string[] },
  migrations: Record<string, Migration>,
  onStep: (step: string) => void | Promise<void> = () => {},
): Promise<AdoptionReport> {
  const steps: AdoptionReport['steps'] = [];
  let last = performance.now();
  const step = async (name: string) => {
    const now = performance.now();
    steps.push({ step: name, ms: Math.round(now - last) });
    last = now;
    await onStep(name);
  };

  const problems = await findUnadoptableRows(trx, estate.version);
  if (problems.length > 0) throw new UnadoptableRowsError(problems);
  await step('checked the Go rows');

  const tables = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'ktrlplane' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(trx);
  await sql.raw(`CREATE SCHEMA ${ADOPTION_ARCHIVE_SCHEMA}`).execute(trx);
  for (const { table_name } of tables.rows) {
    await sql.raw(`ALTER TABLE ktrlplane."${table_name}" SET SCHEMA ${ADOPTION_ARCHIVE_SCHEMA}`).execute(trx);
  }
  await sql.raw(`ALTER TABLE public.schema_migrations SET SCHEMA ${ADOPTION_ARCHIVE_SCHEMA}`).execute(trx);
  await sql
    .raw(
      `COMMENT ON SCHEMA ${ADOPTION_ARCHIVE_SCHEMA} IS 'The Go service''s tables as they were when ktrlplane adopted them; see deploy/switch-over.md'`,
    )
    .execute(trx);
  await step('moved the Go tables aside');

  // Kysely's own bookkeeping tables (the Migrator's format), so later runs see these as applied.
  await sql`
    CREATE TABLE ktrlplane.schema_migrations (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL);
    CREATE TABLE ktrlplane.schema_migrations_lock (id varchar(255) NOT NULL PRIMARY KEY, is_locked integer NOT NULL DEFAULT 0);
    INSERT INTO ktrlplane.schema_migrations_lock (id, is_locked) VALUES ('migration_lock', 0);
  `.execute(trx);

  const names = Object.keys(migrations).sort();
  if (!names.includes(ADOPT_AT_MIGRATION)) throw new Error(`Migration ${ADOPT_AT_MIGRATION} is missing`);
  const applied: string[] = [];
  let mapped: Awaited<ReturnType<typeof mapGoRows>> | undefined;
  for (const name of names) {
    const migration = migrations[name] as Migration;
    await migration.up(trx);
    await sql`INSERT INTO ktrlplane.schema_migrations (name, timestamp) VALUES (${name}, ${new Date().toISOString()})`.execute(
      trx,
    );
    applied.push(name);
    if (name === ADOPT_AT_MIGRATION) {
      await step(`created ktrlplane's schema (${applied.length} migrations)`);
      mapped = await mapGoRows(trx, estate.version, (what) => step(`mapped ${what}`));
    }
  }
  if (applied.length > names.indexOf(ADOPT_AT_MIGRATION) + 1)
    await step(`applied the later migrations (${applied.length - names.indexOf(ADOPT_AT_MIGRATION) - 1})`);
  if (!mapped) throw new Error('adoption did not reach the mapping step');
  const counts = await countRows(trx, mapped.personalOrganizations, mapped.hasBilling, estate.legacyTables);
  const unaccounted = unaccountedRows(counts);
  if (unaccounted.length > 0) throw new UnaccountedRowsError(unaccounted);
  const grants = await carryTableGrants(trx);
  await step(`granted the Go tables' privileges again (${grants.length})`);
  return {
    goVersion: String(estate.version).padStart(3, '0'),
    applied,
    counts,
    personalOrganizations: mapped.personalOrganizations,
    grants,
    steps,
  };
}
