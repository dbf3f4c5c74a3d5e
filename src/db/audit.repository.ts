import type { Insertable, Kysely } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { AuditEvent, AuditEventsTable, Database } from './types.ts';

export async function insertAuditEvent(
  db: Kysely<Database>,
  event: Insertable<AuditEventsTable>,
): Promise<void> {
  await db.insertInto('ktrlplane.audit_events').values(event).execute();
}

export interface AuditFilters {
  actor?: string | undefined;
  action?: string | undefined;
  target?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** Position after which the next page starts: (occurred_at, event_id) of the last row shown. */
export interface AuditCursor {
  occurredAt: Date;
  eventId: string;
}

/** An organization's audit events, newest first, filtered, one page after `cursor`. */
export async function listAuditEvents(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  filters: AuditFilters,
  page: { cursor?: AuditCursor | undefined; limit: number },
): Promise<AuditEvent[]> {
  let query = db.selectFrom('ktrlplane.audit_events').selectAll().where('org_id', '=', scope.orgId);
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
    query = query.where((eb) =>
      eb.or([
        eb('occurred_at', '<', cursor.occurredAt),
        eb.and([eb('occurred_at', '=', cursor.occurredAt), eb('event_id', '<', cursor.eventId)]),
      ]),
    );
  }
  return query.orderBy('occurred_at', 'desc').orderBy('event_id', 'desc').limit(page.limit).execute();
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

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}
