import type { Kysely, Transaction } from 'kysely';
import type { Database } from './types.ts';

/**
 * Runs `work` in the caller's transaction when `db` already is one, otherwise in a new one, so a
 * service can be called alone or as part of a larger unit (an idempotent request, a job).
 */
export function withTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
