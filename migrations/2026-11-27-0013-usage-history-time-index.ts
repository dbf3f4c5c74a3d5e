import { type Kysely, sql } from 'kysely';

/**
 * The rollup asks every minute which resources changed in the last hour: without an index on the
 * change time that was a scan of the whole usage history, which only grows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX resource_usage_changes_at_idx ON ktrlplane.resource_usage_changes (at)`.execute(db);
}
