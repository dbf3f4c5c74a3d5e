import type { NotificationJson } from '../../services/notifications.ts';
import { Button, PageHeader } from '../components/form.tsx';

export interface NotificationsView {
  notifications: NotificationJson[];
  unread_count: number;
  /** Showing only unread ones. */
  unreadOnly: boolean;
  /** Cursor of the next (older) page, when there is one. */
  next: string | null;
}

function when(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** One notification: "Open" marks it read and follows its link; "Mark read" only marks it. */
export function NotificationItem(props: { notification: NotificationJson }) {
  const n = props.notification;
  const unread = n.read_at === null;
  return (
    <li
      id={`notification-${n.id}`}
      data-testid="notification"
      data-unread={unread ? 'true' : 'false'}
      class={`flex flex-wrap items-start gap-3 px-4 py-3 ${unread ? 'bg-indigo-50/60 dark:bg-indigo-950/40' : ''}`}
    >
      <span
        aria-hidden="true"
        class={`mt-1.5 size-2 shrink-0 rounded-full ${unread ? 'bg-indigo-600' : 'bg-transparent'}`}
      />
      <div class="min-w-0 flex-1">
        <p class="text-sm font-medium">
          {unread && <span class="sr-only">Unread: </span>}
          {n.title}
        </p>
        <p class="mt-0.5 whitespace-pre-line text-sm text-slate-600 dark:text-slate-300">{n.body}</p>
        <p class="mt-1 text-xs text-slate-500">
          <time datetime={n.created_at}>{when(n.created_at)}</time> · {n.org_id}
          {n.project_id ? ` / ${n.project_id}` : ''}
        </p>
      </div>
      <div class="flex shrink-0 gap-2">
        {n.link && (
          <form method="post" action={`/notifications/${n.id}/open`}>
            <Button variant="secondary">Open</Button>
          </form>
        )}
        {unread && (
          <form
            method="post"
            action={`/notifications/${n.id}/read`}
            hx-post={`/notifications/${n.id}/read`}
            hx-target={`#notification-${n.id}`}
            hx-swap="outerHTML"
          >
            <Button variant="secondary">Mark read</Button>
          </form>
        )}
      </div>
    </li>
  );
}

/** The header's bell: a link to /notifications with the unread count (also read by screen readers). */
export function NotificationBell(props: {
  unread: number /** Swap it in out of band (htmx). */;
  oob?: boolean;
}) {
  const label = props.unread === 0 ? 'Notifications, none unread' : `Notifications, ${props.unread} unread`;
  return (
    <a
      id="notification-bell"
      hx-swap-oob={props.oob ? 'true' : undefined}
      href="/notifications"
      aria-label={label}
      title={label}
      data-testid="notification-bell"
      class="relative inline-flex items-center rounded-md p-1.5 text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800"
    >
      <svg
        viewBox="0 0 24 24"
        class="size-5"
        fill="none"
        stroke="currentColor"
        stroke-width="1.8"
        aria-hidden="true"
      >
        <path
          stroke-linecap="round"
          stroke-linejoin="round"
          d="M14.857 17.082a23.848 23.848 0 0 0 5.454-1.31A8.967 8.967 0 0 1 18 9.75V9A6 6 0 0 0 6 9v.75a8.967 8.967 0 0 1-2.312 6.022c1.733.64 3.56 1.085 5.455 1.31m5.714 0a24.255 24.255 0 0 1-5.714 0m5.714 0a3 3 0 1 1-5.714 0"
        />
      </svg>
      {props.unread > 0 && (
        <span
          data-testid="notification-count"
          class="absolute -right-1 -top-1 min-w-4 rounded-full bg-rose-600 px-1 text-center text-[10px] font-semibold leading-4 text-white"
        >
          {props.unread > 99 ? '99+' : String(props.unread)}
        </span>
      )}
    </a>
  );
}

/** The count under the page title (htmx swaps it out of band when one is marked read). */
export function UnreadSummary(props: { unread: number; oob?: boolean }) {
  return (
    <span id="notifications-summary" hx-swap-oob={props.oob ? 'true' : undefined}>
      {props.unread === 0 ? 'Nothing unread.' : `${props.unread} unread.`}
    </span>
  );
}

export function NotificationsPage(view: NotificationsView) {
  return (
    <div class="mx-auto max-w-3xl">
      <PageHeader
        title="Notifications"
        subtitle={<UnreadSummary unread={view.unread_count} />}
        actions={
          <>
            <a
              href={view.unreadOnly ? '/notifications' : '/notifications?unread=1'}
              class="inline-flex items-center rounded-md px-3 py-2 text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300"
            >
              {view.unreadOnly ? 'Show all' : 'Show unread only'}
            </a>
            {view.unread_count > 0 && (
              <form method="post" action="/notifications/read-all">
                <Button variant="secondary">Mark all read</Button>
              </form>
            )}
          </>
        }
      />
      {view.notifications.length === 0 ? (
        <p class="rounded-lg border border-dashed border-slate-300 p-8 text-center text-sm text-slate-500 dark:border-slate-700">
          {view.unreadOnly
            ? 'No unread notifications.'
            : 'No notifications yet. Usage alerts and other news about your organizations appear here.'}
        </p>
      ) : (
        <ul class="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white dark:divide-slate-800 dark:border-slate-800 dark:bg-slate-900">
          {view.notifications.map((notification) => (
            <NotificationItem notification={notification} />
          ))}
        </ul>
      )}
      {view.next && (
        <p class="mt-4 text-center">
          <a
            href={`/notifications?before=${encodeURIComponent(view.next)}${view.unreadOnly ? '&unread=1' : ''}`}
            class="text-sm font-medium text-indigo-700 hover:underline dark:text-indigo-300"
          >
            Older notifications
          </a>
        </p>
      )}
    </div>
  );
}
