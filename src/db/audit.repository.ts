import { type Insertable, type Kysely, sql } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { AuditEvent, AuditEventsTable, Database } from './types.ts';

export async function insertAuditEvent(
  db: Kysely<Database>,
  event: Insertable<AuditEventsTable>,
): Promise<void> {
  await db.insertInto('ktrlplane.audit_events').values(event).execute();
}

export interface AuditFilters {
  /** A user id (exact) or part of the actor's label (email, token), case-insensitive. */
  actor?: string | undefined;
  /** A prefix of the action, such as `project.` or `auth.login`. */
  action?: string | undefined;
  /** A target id or a target type (exact). */
  target?: string | undefined;
  /** Inclusive lower bound of occurred_at. */
  from?: Date | undefined;
  /** Exclusive upper bound of occurred_at. */
  to?: Date | undefined;
}

/**
 * Position after which the next page starts: (occurred_at, event_id) of the last row shown.
 * `occurredAt` is the database's own text of the timestamp to the microsecond (a JavaScript Date
 * keeps milliseconds only, which would skip or repeat rows that differ below that).
 */
export interface AuditCursor {
  occurredAt: string;
  eventId: string;
}

export interface AuditEventPage {
  events: AuditEvent[];
  /** Where the next page starts, or null when this page holds the last matching event. */
  next: AuditCursor | null;
}

/**
 * An organization's audit events, newest first, filtered, one page after `cursor` (keyset on
 * (occurred_at, event_id), so equal timestamps neither repeat nor vanish between pages).
 *
 * Tenancy: only events of `scope.orgId`, and only those since the organization was created: an
 * organization id becomes free again when its organization is deleted, and whoever creates a new
 * organization with that id must not read the history (members' emails, IPs) of the old one.
 */
export async function listAuditEvents(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  filters: AuditFilters,
  page: { cursor?: AuditCursor | undefined; limit: number },
): Promise<AuditEventPage> {
  let query = db
    .selectFrom('ktrlplane.audit_events')
    .selectAll()
    .select(
      sql<string>`to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_time'),
    )
    .where('org_id', '=', scope.orgId)
    .where((eb) =>
      eb(
        'occurred_at',
        '>=',
        eb.selectFrom('ktrlplane.organizations').select('created_at').where('org_id', '=', scope.orgId),
      ),
    );
  if (filters.actor) {
    const actor = filters.actor;
    query = query.where((eb) =>
      eb.or([eb('actor_id', '=', actor), eb('actor_label', 'ilike', `%${escapeLike(actor)}%`)]),
    );
  }
  if (filters.action) query = query.where('action', 'like', `${escapeLike(filters.action)}%`);
  if (filters.target) {
    const target = filters.target;
    query = query.where((eb) => eb.or([eb('target_id', '=', target), eb('target_type', '=', target)]));
  }
  if (filters.from) query = query.where('occurred_at', '>=', filters.from);
  if (filters.to) query = query.where('occurred_at', '<', filters.to);
  const cursor = page.cursor;
  if (cursor) {
    // A row comparison, which the (org_id, occurred_at DESC, event_id DESC) index serves.
    query = query.where(
      sql<boolean>`(occurred_at, event_id) < (${cursor.occurredAt}::timestamptz, ${cursor.eventId})`,
    );
  }
  const rows = await query
    .orderBy('occurred_at', 'desc')
    .orderBy('event_id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  const events = shown.map(({ cursor_time: _, ...event }) => event);
  return {
    events,
    next: rows.length > page.limit && last ? { occurredAt: last.cursor_time, eventId: last.event_id } : null,
  };
}

/** A user's own recent security events (sign-ins, password changes), for their account page. */
export async function listOwnSecurityEvents(
  db: Kysely<Database>,
  userId: string,
  limit = 10,
): Promise<AuditEvent[]> {
  return db
    .selectFrom('ktrlplane.audit_events')
    .selectAll()
    .where('target_type', '=', 'user')
    .where('target_id', '=', userId)
    .orderBy('occurred_at', 'desc')
    .limit(limit)
    .execute();
}

/** Escapes LIKE wildcards so user text matches literally (backslash is LIKE's default escape). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
