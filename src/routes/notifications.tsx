import { type Context, Hono } from 'hono';
import {
  countUnreadNotifications,
  listNotificationsOf,
  markAllNotificationsRead,
  markNotificationRead,
} from '../db/notifications.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { currentPrincipal, requireUser } from '../lib/auth-middleware.ts';
import { notFound, unprocessable } from '../lib/errors.ts';
import { redirectAfterWrite, safeNext } from '../lib/forms.tsx';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { notificationJson, notificationLimitOf } from '../services/notifications.ts';
import { requireWritingCredential } from '../services/token-limits.ts';
import {
  NotificationBell,
  NotificationItem,
  NotificationsPage,
  type NotificationsView,
  UnreadSummary,
} from '../views/pages/notifications-page.tsx';

/**
 * The signed-in user's in-app notifications: `/notifications` (page, fragment, JSON; `?unread=1`,
 * `?before=<cursor>` for older ones), the header bell's count, and marking read.
 *
 * Tenancy: notifications belong to their recipient, so there is no tenant id to check with
 * requireAccess; every query is scoped by the caller's user id (and, for an API token limited to
 * one organization or project, by that too). Another user's notification id answers 404.
 */
export const notificationsRoutes = new Hono<AppEnv>();

const PAGE_SIZE = 50;
const TITLE = 'Notifications';

function cursorOf(row: { created_at: string; id: string }): string {
  return `${row.created_at}~${row.id}`;
}

function parseCursor(value: string | undefined): { createdAt: Date; id: string } | undefined {
  if (value === undefined || value === '') return undefined;
  const [at, id] = value.split('~');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime()))
    throw unprocessable(
      [{ pointer: '/before', message: 'must be the `next` cursor of a previous page' }],
      'The cursor is not one this API gave out.',
    );
  return { createdAt, id };
}

async function notificationsView(c: Context<AppEnv>): Promise<NotificationsView> {
  const { db } = c.get('deps');
  const principal = currentPrincipal(c);
  const limit = notificationLimitOf(principal);
  const unreadOnly = ['1', 'true'].includes(c.req.query('unread') ?? '');
  const before = parseCursor(c.req.query('before'));
  const [rows, unread] = await Promise.all([
    listNotificationsOf(db, principal.userId, {
      ...limit,
      limit: PAGE_SIZE + 1,
      unreadOnly,
      ...(before ? { before } : {}),
    }),
    countUnreadNotifications(db, principal.userId, limit),
  ]);
  const notifications = rows.slice(0, PAGE_SIZE).map(notificationJson);
  const last = notifications.at(-1);
  return {
    notifications,
    unread_count: unread,
    unreadOnly,
    next: rows.length > PAGE_SIZE && last ? cursorOf(last) : null,
  };
}

notificationsRoutes.get('/notifications', requireUser(), async (c) => {
  const view = await notificationsView(c);
  if (representationFor(c) === 'json') {
    const { unreadOnly: _unreadOnly, ...data } = view;
    return c.json(data);
  }
  return respond(c, view, NotificationsPage, { title: TITLE });
});

/** The bell alone (htmx refreshes it) or `{ unread_count }`. */
notificationsRoutes.get('/notifications/unread-count', requireUser(), async (c) => {
  const { db } = c.get('deps');
  const principal = currentPrincipal(c);
  const unread = await countUnreadNotifications(db, principal.userId, notificationLimitOf(principal));
  if (representationFor(c) === 'json') return c.json({ unread_count: unread });
  return c.html(<NotificationBell unread={unread} />);
});

/** Marking read changes the caller's own state, but a read-only token still only reads. */
function requireWritingCaller(c: Context<AppEnv>) {
  const principal = currentPrincipal(c);
  requireWritingCredential(principal, 'mark notifications read');
  return principal;
}

async function markRead(c: Context<AppEnv>) {
  const { db, clock } = c.get('deps');
  const principal = requireWritingCaller(c);
  const row = await markNotificationRead(
    db,
    principal.userId,
    c.req.param('notificationId') ?? '',
    clock.now(),
    notificationLimitOf(principal),
  );
  if (!row) throw notFound();
  return row;
}

notificationsRoutes.post('/notifications/:notificationId/read', requireUser(), async (c) => {
  const row = await markRead(c);
  switch (representationFor(c)) {
    case 'json':
      return c.json(notificationJson(row));
    case 'fragment': {
      // The item in place, and the bell's count out of band so it drops at once.
      const { db } = c.get('deps');
      const principal = currentPrincipal(c);
      const unread = await countUnreadNotifications(db, principal.userId, notificationLimitOf(principal));
      return c.html(
        <>
          <NotificationItem notification={notificationJson(row)} />
          <NotificationBell unread={unread} oob />
          <UnreadSummary unread={unread} oob />
        </>,
      );
    }
    case 'page':
      return redirectAfterWrite(c, '/notifications');
  }
});

/** Marks read and follows the notification's own link (stored by ktrlplane: never an open redirect). */
notificationsRoutes.post('/notifications/:notificationId/open', requireUser(), async (c) => {
  const row = await markRead(c);
  const target = safeNext(row.link, '/notifications');
  if (representationFor(c) === 'json') return c.json({ ...notificationJson(row), location: target });
  return redirectAfterWrite(c, target);
});

notificationsRoutes.post('/notifications/read-all', requireUser(), async (c) => {
  const { db, clock } = c.get('deps');
  const principal = requireWritingCaller(c);
  const marked = await markAllNotificationsRead(
    db,
    principal.userId,
    clock.now(),
    notificationLimitOf(principal),
  );
  if (representationFor(c) === 'json') return c.json({ marked });
  return redirectAfterWrite(c, '/notifications');
});
