import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { INT8_OID, normalisedPgTypes, parseInt8 } from '../type-parsers.ts';
import type { Database } from '../types.ts';
import { createPglitePool } from './pglite-pool.ts';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  /** 'pglite' (embedded, ./data) or 'postgres' (a server through pg). */
  kind: 'pglite' | 'postgres' | 'neon';
  close(): Promise<void>;
  /** Connections of the pool (for the database pool gauges of /metrics). */
  poolStats?(): PoolStats;
}

/** A real PostgreSQL server through `pg`. */
export function openPostgres(
  url: string,
  options: { max?: number; onIdleClientError?: (error: Error) => void } = {},
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types: normalisedPgTypes(pg.types),
  });
  // An idle pooled connection can be cut by the server (restart, failover, admin termination);
  // pg reports that as an 'error' event, which would crash the process if nobody listened. The
  // pool drops the connection and opens a new one on the next query.
  pool.on(
    'error',
    options.onIdleClientError ?? ((error) => console.error('idle database connection lost:', error.message)),
  );
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    close: () => db.destroy(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/** The embedded database: PGlite in `dataDir` (created on first use), or in memory without one. */
export async function openPglite(
  dataDir: string | undefined,
  options: { loadDataDir?: Blob } = {},
): Promise<DatabaseHandle & { pglite: PGlite }> {
  const pglite = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    parsers: { [INT8_OID]: parseInt8 },
    // Available, not installed: deploy/operator/operator-secrets.sql creates it, so the operator's
    // Secrets manifest runs on the embedded database too (the simulator, tests).
    extensions: { pgcrypto },
  });
  const pool = createPglitePool(pglite);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'pglite', pglite, close: () => db.destroy(), poolStats: () => pool.stats() };
}

export async function openNodeDatabase(
  config: { DATABASE_URL?: string | undefined; DATA_DIR: string },
  onIdleClientError?: (error: Error) => void,
) {
  return config.DATABASE_URL
    ? openPostgres(config.DATABASE_URL, onIdleClientError ? { onIdleClientError } : {})
    : openPglite(config.DATA_DIR);
}
