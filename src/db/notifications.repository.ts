import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, NotificationsTable } from './types.ts';

/**
 * In-app notifications (ktrlplane.notifications). Every read or change is scoped by the recipient's
 * user id (second argument): a user only ever sees and marks their own rows, and another user's id
 * answers nothing (a 404 upstream). `limitTo` narrows further for API tokens scoped to one
 * organization or project.
 *
 * Not to be confused with notifications.ts beside it: that is Postgres LISTEN/NOTIFY.
 */
export type NotificationRow = Selectable<NotificationsTable>;

export interface NotificationLimit {
  orgId?: string;
  projectId?: string;
}

export interface NewNotification {
  user_id: string;
  org_id: string;
  project_id: string | null;
  kind: string;
  title: string;
  body: string;
  link: string | null;
  dedupe_key: string;
}

/**
 * Inserts one row per recipient, skipping recipients who already have `dedupe_key` (the unique
 * (user_id, dedupe_key) makes this atomic, also for two notifiers at once). Returns the rows that
 * are new, so the caller sends email only for those.
 */
export async function insertNotifications(
  db: Kysely<Database>,
  rows: NewNotification[],
  now: Date,
): Promise<NotificationRow[]> {
  if (rows.length === 0) return [];
  return db
    .insertInto('ktrlplane.notifications')
    .values(rows.map((row) => ({ ...row, created_at: now })))
    .onConflict((oc) => oc.columns(['user_id', 'dedupe_key']).doNothing())
    .returningAll()
    .execute();
}

export async function listNotificationsOf(
  db: Kysely<Database>,
  userId: string,
  args: { limit: number; unreadOnly?: boolean; before?: { createdAt: Date; id: string } } & NotificationLimit,
): Promise<NotificationRow[]> {
  let query = db
    .selectFrom('ktrlplane.notifications')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('notification_id', 'desc')
    .limit(args.limit);
  if (args.orgId) query = query.where('org_id', '=', args.orgId);
  if (args.projectId) query = query.where('project_id', '=', args.projectId);
  if (args.unreadOnly) query = query.where('read_at', 'is', null);
  if (args.before) {
    const { createdAt, id } = args.before;
    query = query.where((eb) =>
      eb.or([
        eb('created_at', '<', createdAt),
        eb.and([eb('created_at', '=', createdAt), eb('notification_id', '<', id)]),
      ]),
    );
  }
  return query.execute();
}

export async function countUnreadNotifications(
  db: Kysely<Database>,
  userId: string,
  limit: NotificationLimit = {},
): Promise<number> {
  let query = db
    .selectFrom('ktrlplane.notifications')
    .select(sql<number | string>`count(*)`.as('count'))
    .where('user_id', '=', userId)
    .where('read_at', 'is', null);
  if (limit.orgId) query = query.where('org_id', '=', limit.orgId);
  if (limit.projectId) query = query.where('project_id', '=', limit.projectId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Marks one of the user's notifications read; undefined when it is not theirs (or not in `limit`). */
export async function markNotificationRead(
  db: Kysely<Database>,
  userId: string,
  notificationId: string,
  now: Date,
  limit: NotificationLimit = {},
): Promise<NotificationRow | undefined> {
  let query = db
    .updateTable('ktrlplane.notifications')
    // Keeps the first read time when marked twice.
    .set({ read_at: sql<Date>`coalesce(read_at, ${now})` })
    .where('user_id', '=', userId)
    .where('notification_id', '=', notificationId);
  if (limit.orgId) query = query.where('org_id', '=', limit.orgId);
  if (limit.projectId) query = query.where('project_id', '=', limit.projectId);
  return query.returningAll().executeTakeFirst();
}

/** Marks every unread notification of the user read; returns how many changed. */
export async function markAllNotificationsRead(
  db: Kysely<Database>,
  userId: string,
  now: Date,
  limit: NotificationLimit = {},
): Promise<number> {
  let query = db
    .updateTable('ktrlplane.notifications')
    .set({ read_at: now })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null);
  if (limit.orgId) query = query.where('org_id', '=', limit.orgId);
  if (limit.projectId) query = query.where('project_id', '=', limit.projectId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export type NotificationAudience = 'org-admins' | 'billing' | 'project-members' | { userIds: string[] };

/**
 * The users an audience names, with their email addresses, among the organization's members:
 * `org-admins` hold `manage_access` on the organization, `billing` hold `manage_billing` on it,
 * `project-members` can `read` the project (an assignment on it or on its organization). An explicit
 * user list is filtered to members of the organization, so a notifier cannot reach outsiders.
 * Expired assignments do not count.
 */
export async function recipientsOf(
  db: Kysely<Database>,
  args: { orgId: string; projectId: string | null; audience: NotificationAudience; now: Date },
): Promise<Array<{ user_id: string; email: string | null }>> {
  const { orgId, projectId, audience, now } = args;
  const holders = (action: string, scopes: Array<{ type: 'organization' | 'project'; id: string }>) =>
    db
      .selectFrom('ktrlplane.role_assignments as ra')
      .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'ra.role_id')
      .innerJoin('ktrlplane.permissions as perm', 'perm.permission_id', 'rp.permission_id')
      .select('ra.user_id')
      .where('perm.action', '=', action)
      .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]))
      .where((eb) =>
        eb.or(scopes.map((s) => eb.and([eb('ra.scope_type', '=', s.type), eb('ra.scope_id', '=', s.id)]))),
      );
  const orgScope = [{ type: 'organization' as const, id: orgId }];
  let users: ReturnType<typeof holders>;
  if (audience === 'org-admins') users = holders('manage_access', orgScope);
  else if (audience === 'billing') users = holders('manage_billing', orgScope);
  else if (audience === 'project-members') {
    if (!projectId) return [];
    users = holders('read', [...orgScope, { type: 'project' as const, id: projectId }]);
  } else {
    if (audience.userIds.length === 0) return [];
    // Anyone with an unexpired assignment in the organization (on it, a project or a resource of it).
    users = db
      .selectFrom('ktrlplane.role_assignments as ra')
      .select('ra.user_id')
      .where('ra.user_id', 'in', audience.userIds)
      .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]))
      .where((eb) =>
        eb.or([
          eb.and([eb('ra.scope_type', '=', 'organization'), eb('ra.scope_id', '=', orgId)]),
          eb.and([
            eb('ra.scope_type', '=', 'project'),
            eb(
              'ra.scope_id',
              'in',
              eb.selectFrom('ktrlplane.projects').select('project_id').where('org_id', '=', orgId),
            ),
          ]),
          eb.and([
            eb('ra.scope_type', '=', 'resource'),
            eb(
              'ra.scope_id',
              'in',
              eb
                .selectFrom('ktrlplane.resources as r')
                .innerJoin('ktrlplane.projects as p', 'p.project_id', 'r.project_id')
                .select('r.resource_id')
                .where('p.org_id', '=', orgId),
            ),
          ]),
        ]),
      );
  }
  return db
    .selectFrom('ktrlplane.users as u')
    .select(['u.user_id', 'u.email'])
    .where('u.user_id', 'in', users)
    .orderBy('u.user_id')
    .execute();
}
