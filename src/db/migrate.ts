import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { type AdoptionReport, adoptGoEstate } from './adopt/adopt-go-estate.ts';
import { type DatabaseKind, recogniseDatabase } from './adopt/recognise.ts';
import type { Database } from './types.ts';

/**
 * The advisory lock key Kysely's Postgres adapter takes for a migration run. Adoption takes the
 * same key (transaction-scoped), so an instance migrating as usual waits for an adoption in
 * progress and then finds nothing to do.
 */
const MIGRATION_LOCK_KEY = '3853314791062309107';

/** Adoption reads and writes tables outside the typed schema (the Go archive). */
function untyped(db: Kysely<Database>): Kysely<unknown> {
  return db as unknown as Kysely<unknown>;
}

export interface MigrateOptions {
  /** Called after each adoption step (progress output; tests inject failures here). */
  onAdoptionStep?: (step: string) => void | Promise<void>;
}

/**
 * Adopts a Go estate in one transaction under the migration lock, if the database is one;
 * undefined otherwise (or when another instance adopted it while this one waited for the lock).
 */
async function adoptIfGoEstate(
  db: Kysely<Database>,
  found: DatabaseKind | 'changing',
  options: MigrateOptions,
): Promise<AdoptionReport | undefined> {
  if (found !== 'changing' && found.kind !== 'go') return undefined;
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${sql.raw(MIGRATION_LOCK_KEY)})`.execute(trx);
    const now = await recogniseDatabase(untyped(trx));
    if (now.kind !== 'go') return undefined;
    return adoptGoEstate(untyped(trx), now, migrations, options.onAdoptionStep);
  });
}

/**
 * The first look, without the lock: another instance may move the Go tables aside between two of
 * its statements (a relation it just saw is gone, 42P01). Then it is 'changing', and the look
 * under the lock decides.
 */
async function recogniseUnlocked(db: Kysely<Database>): Promise<DatabaseKind | 'changing'> {
  try {
    return await recogniseDatabase(untyped(db));
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') return 'changing';
    throw error;
  }
}

/**
 * Applies pending migrations. Kysely's Postgres adapter holds a transaction-scoped advisory lock
 * for the whole run and each migration runs in that transaction, so two instances starting at
 * once apply each migration exactly once and a failed migration leaves nothing half-done.
 */
function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: 'ktrlplane',
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
}

/**
 * Brings the database to the latest schema: a new or ktrlplane database through Kysely's Migrator,
 * a Go estate through adoption (deploy/switch-over.md). A schema it does not recognise is refused
 * (UnrecognisedSchemaError) before anything is written.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  options: MigrateOptions = {},
): Promise<{ applied: string[]; adoption?: AdoptionReport }> {
  const adoption = await adoptIfGoEstate(db, await recogniseUnlocked(db), options);
  const result: MigrationResultSet = await migrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${String(result.error)}`, { cause: result.error });
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return adoption ? { applied: [...adoption.applied, ...applied], adoption } : { applied };
}

class Rehearsal extends Error {}

export interface MigrationPlan {
  found: DatabaseKind;
  /** Migrations a run would apply, in order. */
  pending: string[];
  /** For a Go estate: the adoption as rehearsed (counts included). */
  adoption?: AdoptionReport;
}

/**
 * What `migrateToLatest` would do, without changing anything (`npm run migrate -- --dry-run`). A
 * Go estate's adoption is rehearsed for real in a transaction that is always rolled back, so the
 * counts are exactly what a run would produce.
 */
export async function planMigrations(db: Kysely<Database>): Promise<MigrationPlan> {
  const found = await recogniseDatabase(untyped(db));
  if (found.kind !== 'go') return { found, pending: await pendingMigrations(db) };
  let adoption: AdoptionReport | undefined;
  try {
    await db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(${sql.raw(MIGRATION_LOCK_KEY)})`.execute(trx);
      adoption = await adoptGoEstate(untyped(trx), found, migrations);
      throw new Rehearsal();
    });
  } catch (error) {
    if (!(error instanceof Rehearsal)) throw error;
  }
  if (!adoption) throw new Error('the adoption rehearsal produced no report');
  return { found, pending: adoption.applied, adoption };
}

/** Names of migrations not yet applied; empty when the schema is current (used by readiness). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
