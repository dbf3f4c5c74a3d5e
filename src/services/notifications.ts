import type { Kysely } from 'kysely';
import { enqueueMail } from '../db/mail-outbox.repository.ts';
import {
  insertNotifications,
  type NotificationAudience,
  type NotificationLimit,
  type NotificationRow,
  recipientsOf,
} from '../db/notifications.repository.ts';
import type { Database } from '../db/types.ts';
import type { Principal } from './principal.ts';
import { tokenScopeOf } from './token-limits.ts';

export type { NotificationAudience } from '../db/notifications.repository.ts';

export interface NotifyInput {
  orgId: string;
  projectId?: string | null;
  /** Who receives it: a role-derived group of the organization, or named users (members only). */
  audience: NotificationAudience | string[];
  /** Machine-readable category, e.g. `usage.quota` or `alert.firing`. */
  kind: string;
  title: string;
  body: string;
  /** Path inside ktrlplane (`/organizations/acme/billing`); made absolute with `baseUrl` in mail. */
  link?: string | null;
  /**
   * Names the event: a second notify with the same key reaches nobody who already got it (unique
   * per user), so jobs can notify on every run and re-runs stay silent.
   */
  dedupeKey: string;
  /** From the injected clock. */
  now: Date;
  /** BASE_URL, for the link in the email. */
  baseUrl: string;
  /** Also queue an email to each new recipient with an address (mail outbox). Default true. */
  email?: boolean;
}

/**
 * In-app notification (and email) for the members of an organization an audience names.
 *
 * Tenancy: recipients are always members of `orgId` (role assignments in it), so a notifier cannot
 * reach users of another organization even with explicit user ids.
 * Idempotency: once per (user, dedupeKey) — the insert skips recipients who already have the key,
 * and mail is queued only for the rows this call inserted, in the same transaction (`db` should be
 * the transaction of the change the notification announces), so a notification and its email exist
 * together or not at all.
 */
export async function notify(db: Kysely<Database>, input: NotifyInput): Promise<NotificationRow[]> {
  const audience = Array.isArray(input.audience) ? { userIds: input.audience } : input.audience;
  const projectId = input.projectId ?? null;
  const recipients = await recipientsOf(db, { orgId: input.orgId, projectId, audience, now: input.now });
  const created = await insertNotifications(
    db,
    recipients.map((recipient) => ({
      user_id: recipient.user_id,
      org_id: input.orgId,
      project_id: projectId,
      kind: input.kind,
      title: input.title,
      body: input.body,
      link: input.link ?? null,
      dedupe_key: input.dedupeKey,
    })),
    input.now,
  );
  if (input.email !== false) {
    const emailOf = new Map(recipients.map((r) => [r.user_id, r.email]));
    for (const row of created) {
      const to = emailOf.get(row.user_id);
      if (to) await enqueueMail(db, notificationMail(row, to, input.baseUrl), input.now);
    }
  }
  return created;
}

export function notificationMail(
  row: Pick<NotificationRow, 'title' | 'body' | 'link'>,
  to: string,
  baseUrl: string,
): { to: string; subject: string; text: string } {
  const lines = [row.body];
  if (row.link) lines.push('', `Open it in ktrlplane: ${new URL(row.link, baseUrl).toString()}`);
  lines.push('', `Every notification: ${new URL('/notifications', baseUrl).toString()}`);
  return { to, subject: row.title, text: lines.join('\n') };
}

/** What a caller may see: a token scoped to an organization or project sees only that one's. */
export function notificationLimitOf(principal: Principal): NotificationLimit {
  return tokenScopeOf(principal);
}

export interface NotificationJson {
  id: string;
  org_id: string;
  project_id: string | null;
  kind: string;
  title: string;
  body: string;
  link: string | null;
  created_at: string;
  read_at: string | null;
}

export function notificationJson(row: NotificationRow): NotificationJson {
  return {
    id: row.notification_id,
    org_id: row.org_id,
    project_id: row.project_id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    link: row.link,
    created_at: row.created_at.toISOString(),
    read_at: row.read_at ? row.read_at.toISOString() : null,
  };
}
