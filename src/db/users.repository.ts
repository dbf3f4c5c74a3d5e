import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

/** Platform-wide: used only to tell a fresh installation (no users yet) from a running one. */
export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('ktrlplane.users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
