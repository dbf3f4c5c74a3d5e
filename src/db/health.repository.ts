import { type Kysely, sql } from 'kysely';
import type { Database } from './types.ts';

/** True when the database answers `SELECT 1`. Never throws: health checks report, they do not fail. */
export async function pingDatabase(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`SELECT 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
