import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.ts';
import { insertUsageEvents, type NewUsageEvent, placeResources } from '../../db/usage-events.repository.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { AppError, type FieldError, unprocessable } from '../../lib/errors.ts';
import type { UsageEventInput, UsageEventResult } from '../../schemas/usage-events.ts';
import { reportableMetricNames, usageMetric } from '../../schemas/usage-metrics.ts';
import type { Principal } from '../principal.ts';
import { type AuthorizedScope, authorizeDataPlaneAction } from '../rbac.ts';

export const REPORT_USAGE_ACTION = 'usage/report';
/** Events may be at most this far ahead of ktrlplane's clock (clock skew of the reporter). */
const MAX_FUTURE_MS = 5 * 60_000;

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: UsageEventResult[];
  /** The one organization and project all events were for, when there was one (API counting). */
  scope: { orgId: string; projectId: string | null } | null;
}

/** Attributes as canonical JSON (keys sorted), so the same attributes always hash alike. */
function canonicalAttributes(attributes: UsageEventInput['attributes']): string | null {
  if (!attributes) return null;
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return null;
  return JSON.stringify(Object.fromEntries(keys.map((key) => [key, attributes[key]])));
}

/**
 * Checks what a schema cannot: known, reportable metrics (the message names them), times not
 * more than 5 minutes ahead, the attribute a unique_count metric counts. All problems of the
 * batch are reported at once (422, JSON pointers); nothing is stored then.
 */
function checkEvents(events: readonly UsageEventInput[], now: Date): void {
  const errors: FieldError[] = [];
  const known = reportableMetricNames.join(', ');
  for (const [index, event] of events.entries()) {
    const metric = usageMetric(event.metric);
    if (!metric) {
      errors.push({
        pointer: `/events/${index}/metric`,
        message: `unknown metric "${event.metric}"; known metrics: ${known}`,
      });
    } else if (metric.source !== 'reported') {
      errors.push({
        pointer: `/events/${index}/metric`,
        message: `"${event.metric}" is measured by ktrlplane itself and cannot be reported; reportable metrics: ${known}`,
      });
    } else if (metric.aggregation === 'unique_count' && metric.unique_attribute) {
      if (event.attributes?.[metric.unique_attribute] === undefined) {
        errors.push({
          pointer: `/events/${index}/attributes/${metric.unique_attribute}`,
          message: `"${event.metric}" counts distinct values of the attribute "${metric.unique_attribute}"; send it`,
        });
      }
    }
    if (Date.parse(event.time) > now.getTime() + MAX_FUTURE_MS) {
      errors.push({
        pointer: `/events/${index}/time`,
        message: 'is more than 5 minutes in the future; send events when they happened',
      });
    }
  }
  if (errors.length > 0) {
    throw unprocessable(errors, `${errors.length} field(s) of the batch are invalid; nothing was stored.`);
  }
}

/**
 * Ingests a validated batch for `principal`: each event is stored once per (organization, id).
 * A repeat with the same payload (metric, resource, time, value, attributes) is answered as a
 * duplicate (200) and changes nothing; with another payload it is a conflict (409) and the stored
 * event stays. Events of resources the caller may not see are 404 (403 when it may see them but
 * not report); the rest of the batch is stored regardless. Late events (any age) are accepted and
 * the hours they touch are queued for the rollup in the same statement.
 *
 * Authorization: `usage/report` on each resource's project (tokens: a read-write token whose scope
 * covers the project).
 */
export async function ingestUsageEvents(
  db: Kysely<Database>,
  principal: Principal,
  events: readonly UsageEventInput[],
  now: Date,
): Promise<IngestResult> {
  checkEvents(events, now);
  const placements = await placeResources(db, [...new Set(events.map((event) => event.resourceId))]);
  const projects = new Map<string, AuthorizedScope<'project'>>();
  const refused = new Map<string, AppError>();
  for (const placement of new Set([...placements.values()].map((p) => p.project_id))) {
    try {
      projects.set(
        placement,
        await authorizeDataPlaneAction(db, principal, REPORT_USAGE_ACTION, 'project', placement, now),
      );
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      refused.set(placement, error);
    }
  }

  const results: UsageEventResult[] = new Array(events.length);
  const firstOfId = new Map<string, { index: number; hash: string }>();
  const rows: NewUsageEvent[] = [];
  const rowIndex = new Map<string, number>();
  const repeats: Array<{ index: number; key: string; hash: string }> = [];
  for (const [index, event] of events.entries()) {
    const placement = placements.get(event.resourceId);
    const denied = placement ? refused.get(placement.project_id) : undefined;
    if (!placement || (denied && denied.status === 404)) {
      results[index] = {
        index,
        id: event.id,
        status: 404,
        outcome: 'not_found',
        detail: `No resource "${event.resourceId}" exists, or you may not report usage for it.`,
      };
      continue;
    }
    if (denied) {
      results[index] = { index, id: event.id, status: 403, outcome: 'forbidden', detail: denied.detail };
      continue;
    }
    const time = new Date(event.time).toISOString();
    const attributes = canonicalAttributes(event.attributes);
    const value = String(event.value);
    const hash = await sha256Hex(
      `${event.metric}\n${event.resourceId}\n${time}\n${value}\n${attributes ?? ''}`,
    );
    const key = `${placement.org_id}\u0000${event.id}`;
    const first = firstOfId.get(key);
    if (first) {
      repeats.push({ index, key, hash });
      continue;
    }
    firstOfId.set(key, { index, hash });
    rowIndex.set(key, index);
    rows.push({
      org_id: placement.org_id,
      event_id: event.id,
      project_id: placement.project_id,
      resource_id: event.resourceId,
      metric: event.metric,
      occurred_at: time,
      value,
      attributes,
      payload_hash: hash,
    });
  }

  const outcomes = await insertUsageEvents(db, projects, rows, now);
  const hashes = new Map(rows.map((row) => [`${row.org_id}\u0000${row.event_id}`, row.payload_hash]));
  for (const outcome of outcomes) {
    const key = `${outcome.org_id}\u0000${outcome.event_id}`;
    const index = rowIndex.get(key) as number;
    results[index] = outcome.inserted
      ? { index, id: outcome.event_id, status: 201, outcome: 'accepted' }
      : outcome.existing_hash === hashes.get(key)
        ? { index, id: outcome.event_id, status: 200, outcome: 'duplicate' }
        : conflictResult(index, outcome.event_id);
  }
  // A repeat inside the batch answers like a retry of its first occurrence.
  for (const repeat of repeats) {
    const first = firstOfId.get(repeat.key) as { index: number; hash: string };
    const id = events[repeat.index]?.id ?? '';
    results[repeat.index] =
      first.hash === repeat.hash && results[first.index]?.status !== 409
        ? { index: repeat.index, id, status: 200, outcome: 'duplicate' }
        : conflictResult(repeat.index, id);
  }

  let accepted = 0;
  let duplicates = 0;
  for (const result of results) {
    if (result.outcome === 'accepted') accepted++;
    else if (result.outcome === 'duplicate') duplicates++;
  }
  const places = [...new Set(rows.map((row) => `${row.org_id}\u0000${row.project_id}`))];
  const only = places.length === 1 ? rows[0] : undefined;
  return {
    accepted,
    duplicates,
    rejected: events.length - accepted - duplicates,
    results,
    scope: only ? { orgId: only.org_id, projectId: only.project_id } : null,
  };
}

function conflictResult(index: number, id: string): UsageEventResult {
  return {
    index,
    id,
    status: 409,
    outcome: 'conflict',
    detail: `An event with id "${id}" was already accepted with a different payload; use a new id for a different event.`,
  };
}
