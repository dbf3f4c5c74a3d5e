import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/**
 * Gives Kysely's PostgresDialect a pool over one embedded PGlite instance.
 *
 * PGlite is a single connection, so the "pool" hands out that connection to one borrower at a time
 * (a FIFO queue): a transaction keeps it from BEGIN to COMMIT and no other request's statements can
 * land inside it. Parameterless statements go through `exec` (simple protocol) so migrations may
 * hold several statements, as they can with `pg`.
 */
export function createPglitePool(
  pglite: PGlite,
): PostgresPool & { stats(): { total: number; idle: number; waiting: number } } {
  let busy = false;
  let closed = false;
  const waiting: Array<() => void> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy = false;
  };

  const query = async (
    sqlText: string,
    parameters?: readonly unknown[],
  ): Promise<PostgresQueryResult<unknown>> => {
    if (typeof sqlText !== 'string') throw new Error('PGlite pool: cursors are not supported');
    if (!parameters || parameters.length === 0) {
      const results = await pglite.exec(sqlText);
      const last = results.at(-1);
      return {
        command: (last?.command ?? 'SELECT') as PostgresQueryResult<unknown>['command'],
        rowCount: last?.affectedRows ?? last?.rows.length ?? 0,
        rows: last?.rows ?? [],
      };
    }
    const result = await pglite.query(sqlText, [...parameters]);
    return {
      command: statementCommand(sqlText),
      rowCount: result.affectedRows ?? result.rows.length,
      rows: result.rows,
    };
  };
  // Kysely's client type overloads query() for cursors, which this pool does not offer.
  const client = { query, release } as unknown as PostgresPoolClient;

  return {
    connect: () =>
      new Promise<PostgresPoolClient>((resolve, reject) => {
        if (closed) {
          reject(new Error('The embedded database is closed'));
        } else if (!busy) {
          busy = true;
          resolve(client);
        } else {
          waiting.push(() => resolve(client));
        }
      }),
    stats: () => ({ total: 1, idle: busy ? 0 : 1, waiting: waiting.length }),
    end: async () => {
      closed = true;
      await pglite.close();
    },
  };
}

/** Kysely reads `command` to decide whether rowCount means "affected rows". */
function statementCommand(sqlText: string): PostgresQueryResult<unknown>['command'] {
  const match = /^\s*(?:with\b[\s\S]*?\)\s*)?(insert|update|delete|merge|select)\b/i.exec(sqlText);
  return (match?.[1]?.toUpperCase() ?? 'SELECT') as PostgresQueryResult<unknown>['command'];
}
