import { type Kysely, sql } from 'kysely';

/**
 * The graph database's type id becomes production's `Konnektr.Graph` (it was
 * `Konnektr.DigitalTwins`; src/schemas/resource-types/type-ids.ts): the operator manifests of the
 * running estate select `WHERE type = 'Konnektr.Graph'`, so rows under the old id would never be
 * deployed. Every place that stores a type id moves: the resources, the wizard drafts' basics, the
 * type catalogue and its meter pointers, and the usage history and aggregates (so a resource's
 * history reads as one type). Stripe meter names stay as they are (`instance_hours_digital_twins`):
 * they are not type ids, and renaming them would split what is billed.
 *
 * The operator detects changes by polling resources.updated_at; a new updated_at on every graph
 * row would make it redeploy them all for a change it cannot see (type is not in what it renders).
 * So the row triggers that react to the UPDATE are switched off for it: the one that moves
 * updated_at, and the one that records a usage change (the type's meter is the same, the history
 * rows are renamed below instead). The migration runs in one transaction, so nobody else writes
 * resources while they are off. Values of the old id that stay on purpose: audit events (a record
 * of what was written then).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const from = 'Konnektr.DigitalTwins';
  const to = 'Konnektr.Graph';
  await sql`ALTER TABLE ktrlplane.resources DISABLE TRIGGER resources_touch_updated_at`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources DISABLE TRIGGER resources_record_usage_change`.execute(db);
  await sql`UPDATE ktrlplane.resources SET type = ${to} WHERE type = ${from}`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources ENABLE TRIGGER resources_touch_updated_at`.execute(db);
  await sql`ALTER TABLE ktrlplane.resources ENABLE TRIGGER resources_record_usage_change`.execute(db);

  await sql`
    UPDATE ktrlplane.resource_drafts SET basics = jsonb_set(basics, '{type}', to_jsonb(${to}::text))
    WHERE basics->>'type' = ${from}
  `.execute(db);

  // The catalogue rows are keyed by type; start-up re-syncs their content from the code.
  for (const table of ['resource_types', 'resource_type_meters'] as const) {
    const ref = sql.table(`ktrlplane.${table}`);
    await sql`
      UPDATE ${ref} SET type_name = ${to}
      WHERE type_name = ${from} AND NOT EXISTS (SELECT 1 FROM ${ref} WHERE type_name = ${to})
    `.execute(db);
    await sql`DELETE FROM ${ref} WHERE type_name = ${from}`.execute(db);
  }

  await sql`UPDATE ktrlplane.resource_usage_changes SET type = ${to} WHERE type = ${from}`.execute(db);
  await sql`UPDATE ktrlplane.usage_minutely SET resource_type = ${to} WHERE resource_type = ${from}`.execute(
    db,
  );
  await sql`UPDATE ktrlplane.usage_hourly SET resource_type = ${to} WHERE resource_type = ${from}`.execute(
    db,
  );
}
