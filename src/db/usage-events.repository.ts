import { type Kysely, sql } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database } from './types.ts';

/** Where a resource lives, also after it was deleted (its usage history outlives it). */
export interface ResourcePlacement {
  resource_id: string;
  project_id: string;
  org_id: string;
}

/**
 * The project and organization of each resource id, from the live row or, for a deleted
 * resource, from its last usage history entry (late events for it are still accepted).
 * Unknown ids are left out. Not tenant-scoped: the caller authorizes each project it answers.
 */
export async function placeResources(
  db: Kysely<Database>,
  resourceIds: readonly string[],
): Promise<Map<string, ResourcePlacement>> {
  if (resourceIds.length === 0) return new Map();
  const result = await sql<ResourcePlacement>`
    SELECT ids.resource_id, p.project_id, p.org_id
    FROM unnest(${[...resourceIds]}::text[]) AS ids(resource_id)
    CROSS JOIN LATERAL (
      SELECT coalesce(
        (SELECT r.project_id FROM ktrlplane.resources r WHERE r.resource_id = ids.resource_id),
        (SELECT c.project_id FROM ktrlplane.resource_usage_changes c
          WHERE c.resource_id = ids.resource_id ORDER BY c.change_id DESC LIMIT 1)) AS project_id
    ) found
    JOIN ktrlplane.projects p ON p.project_id = found.project_id
  `.execute(db);
  return new Map(result.rows.map((row) => [row.resource_id, row]));
}

export interface NewUsageEvent {
  org_id: string;
  event_id: string;
  project_id: string;
  resource_id: string;
  metric: string;
  occurred_at: string;
  value: string;
  /** Canonical JSON, or null. */
  attributes: string | null;
  payload_hash: string;
}

export interface InsertOutcome {
  org_id: string;
  event_id: string;
  inserted: boolean;
  /** The stored event's hash when it was not inserted (null only if it vanished meanwhile). */
  existing_hash: string | null;
}

/**
 * Stores events once per (org, id), atomically: one multi-row INSERT … ON CONFLICT DO NOTHING
 * that, in the same statement, queues the hours the new events touch for the rollup. Answers per
 * event whether it was new, and otherwise the stored payload hash (a retry or a conflict — the
 * caller decides). Each event's project must be one the caller authorized (`projects`). Ids must
 * be unique within `events` (the caller folds in-batch repeats first).
 */
export async function insertUsageEvents(
  db: Kysely<Database>,
  projects: ReadonlyMap<string, AuthorizedScope<'project'>>,
  events: readonly NewUsageEvent[],
  receivedAt: Date,
): Promise<InsertOutcome[]> {
  for (const event of events) {
    if (!projects.has(event.project_id)) throw new Error(`project ${event.project_id} was not authorized`);
  }
  if (events.length === 0) return [];
  // Sorted by key so concurrent batches that share ids or hours take their locks in one order.
  const rows = [...events].sort((a, b) =>
    a.org_id === b.org_id ? (a.event_id < b.event_id ? -1 : 1) : a.org_id < b.org_id ? -1 : 1,
  );
  const result = await sql<{
    org_id: string;
    event_id: string;
    inserted: boolean;
    existing_hash: string | null;
  }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${rows.map((e) => e.org_id)}::text[], ${rows.map((e) => e.event_id)}::text[],
        ${rows.map((e) => e.project_id)}::text[], ${rows.map((e) => e.resource_id)}::text[],
        ${rows.map((e) => e.metric)}::text[], ${rows.map((e) => e.occurred_at)}::timestamptz[],
        ${rows.map((e) => e.value)}::numeric[], ${rows.map((e) => e.attributes)}::jsonb[],
        ${rows.map((e) => e.payload_hash)}::text[]
      ) AS v(org_id, event_id, project_id, resource_id, metric, occurred_at, value, attributes, payload_hash)
    ), inserted AS (
      INSERT INTO ktrlplane.usage_events
        (org_id, event_id, project_id, resource_id, metric, occurred_at, value, attributes, payload_hash, received_at)
      SELECT org_id, event_id, project_id, resource_id, metric, occurred_at, value, attributes, payload_hash,
        ${receivedAt}::timestamptz
      FROM input
      ON CONFLICT (org_id, event_id) DO NOTHING
      RETURNING org_id, event_id, project_id, resource_id, metric, occurred_at
    ), dirty AS (
      INSERT INTO ktrlplane.usage_dirty_hours (org_id, project_id, resource_id, metric, hour)
      SELECT DISTINCT org_id, project_id, resource_id, metric, date_trunc('hour', occurred_at, 'UTC')
      FROM inserted
      ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT DO NOTHING
    )
    SELECT i.org_id, i.event_id, (n.event_id IS NOT NULL) AS inserted,
      CASE WHEN n.event_id IS NULL THEN (SELECT e.payload_hash FROM ktrlplane.usage_events e
        WHERE e.org_id = i.org_id AND e.event_id = i.event_id) END AS existing_hash
    FROM input i
    LEFT JOIN inserted n ON n.org_id = i.org_id AND n.event_id = i.event_id
  `.execute(db);
  const outcomes = result.rows;
  // A concurrent batch that committed the same id after this statement's snapshot: read it now.
  const unknown = outcomes.filter((row) => !row.inserted && row.existing_hash === null);
  if (unknown.length > 0) {
    const found = await sql<{ org_id: string; event_id: string; payload_hash: string }>`
      SELECT e.org_id, e.event_id, e.payload_hash FROM ktrlplane.usage_events e
      JOIN unnest(${unknown.map((row) => row.org_id)}::text[], ${unknown.map((row) => row.event_id)}::text[])
        AS k(org_id, event_id) ON e.org_id = k.org_id AND e.event_id = k.event_id
    `.execute(db);
    const hashes = new Map(found.rows.map((row) => [`${row.org_id}\u0000${row.event_id}`, row.payload_hash]));
    for (const row of unknown) row.existing_hash = hashes.get(`${row.org_id}\u0000${row.event_id}`) ?? null;
  }
  return outcomes;
}
