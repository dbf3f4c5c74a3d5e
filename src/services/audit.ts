import type { Kysely } from 'kysely';
import { insertAuditEvent } from '../db/audit.repository.ts';
import type { Database } from '../db/types.ts';
import { REDACTED } from '../lib/logger.ts';

/** Who did it and from where; built once per request (see lib/auth-middleware.ts). */
export interface AuditActor {
  actorType: 'user' | 'token' | 'anonymous' | 'system';
  actorId: string | null;
  actorLabel: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

export interface AuditEventInput {
  action: string;
  targetType: string;
  targetId: string | null;
  /** The organization the event belongs to; null for account-level events such as sign-in. */
  orgId: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

const SECRET_FIELD = /pass(word)?|secret|token|api[-_]?key|credential|hash/i;

/** Changed fields only, as {field: {from, to}}; secret fields show that they changed, not to what. */
export function diffFields(
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown> | null | undefined,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    const from = before?.[key];
    const to = after?.[key];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[key] = SECRET_FIELD.test(key)
      ? { from: from === undefined ? undefined : REDACTED, to: to === undefined ? undefined : REDACTED }
      : { from: redactNested(from), to: redactNested(to) };
  }
  return changes;
}

function redactNested(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(redactNested);
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SECRET_FIELD.test(key) ? REDACTED : redactNested(inner),
    ]),
  );
}

/**
 * Records an audit event. Call it with the transaction of the change it describes, so the change
 * and its record commit or roll back together.
 */
export async function recordAudit(
  db: Kysely<Database>,
  actor: AuditActor,
  event: AuditEventInput,
  now: Date,
): Promise<void> {
  await insertAuditEvent(db, {
    occurred_at: now,
    org_id: event.orgId,
    actor_type: actor.actorType,
    actor_id: actor.actorId,
    actor_label: actor.actorLabel,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    changes: JSON.stringify(diffFields(event.before, event.after)),
    request_id: actor.requestId,
    ip: actor.ip,
    user_agent: actor.userAgent?.slice(0, 500) ?? null,
  });
}
