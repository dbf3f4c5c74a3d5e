import type { Navigation } from '../../lib/navigation.ts';
import { NotificationBell } from '../pages/notifications-page.tsx';

export type HeaderNav = Navigation & { currentOrgId: string | null };

const menuClass =
  'absolute right-0 z-40 mt-2 w-64 rounded-md border border-slate-200 bg-white py-1 text-sm shadow-lg dark:border-slate-700 dark:bg-slate-900';
const itemClass = 'block w-full px-3 py-2 text-left hover:bg-slate-100 dark:hover:bg-slate-800';

/** Organization switcher: a <details> menu, so it works without JavaScript. */
function OrganizationSwitcher(props: { nav: HeaderNav }) {
  const current = props.nav.organizations.find((org) => org.org_id === props.nav.currentOrgId);
  return (
    <details class="relative" data-testid="org-switcher">
      <summary class="flex cursor-pointer list-none items-center gap-1 rounded-md px-2 py-1 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800">
        <span class="max-w-48 truncate">{current?.name ?? 'Choose organization'}</span>
        <span aria-hidden="true">▾</span>
      </summary>
      <div class={menuClass.replace('right-0', 'left-0')}>
        <p class="px-3 py-1 text-xs uppercase tracking-wide text-slate-500">Organizations</p>
        {props.nav.organizations.map((org) => (
          <a
            href={`/organizations/${org.org_id}`}
            class={itemClass}
            aria-current={org.org_id === current?.org_id ? 'true' : undefined}
          >
            {org.org_id === current?.org_id ? '✓ ' : ''}
            {org.name}
          </a>
        ))}
        <a
          href="/organizations"
          class={`${itemClass} border-t border-slate-200 text-indigo-600 dark:border-slate-700 dark:text-indigo-400`}
        >
          All organizations / new…
        </a>
      </div>
    </details>
  );
}

function UserMenu(props: { nav: HeaderNav }) {
  const label = props.nav.user.name ?? props.nav.user.email ?? 'Account';
  return (
    <details class="relative" data-testid="user-menu">
      <summary class="flex cursor-pointer list-none items-center gap-1 rounded-md px-2 py-1 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">
        <span class="max-w-40 truncate">{label}</span>
        <span aria-hidden="true">▾</span>
      </summary>
      <div class={menuClass}>
        {props.nav.user.email && (
          <p class="truncate px-3 py-1 text-xs text-slate-500">{props.nav.user.email}</p>
        )}
        <a href="/account" class={itemClass}>
          Account and password
        </a>
        <a href="/tokens" class={itemClass}>
          API tokens
        </a>
        <form method="post" action="/auth/logout">
          <button type="submit" class={itemClass}>
            Sign out
          </button>
        </form>
      </div>
    </details>
  );
}

export function Header(props: { nav: HeaderNav | undefined; faviconUrl: string }) {
  return (
    <header class="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <div class="mx-auto flex max-w-6xl items-center gap-4 px-4 py-3">
        <a href="/" class="flex items-center gap-2 font-semibold tracking-tight">
          <img src={props.faviconUrl} alt="" class="size-6" />
          ktrlplane
        </a>
        {props.nav ? (
          <>
            <OrganizationSwitcher nav={props.nav} />
            <nav aria-label="Main" class="flex gap-4 text-sm text-slate-600 dark:text-slate-300">
              <a href="/projects" class="hover:text-indigo-600 dark:hover:text-indigo-400">
                Projects
              </a>
            </nav>
            <div class="ml-auto flex items-center gap-2">
              <NotificationBell unread={props.nav.unreadNotifications} />
              <UserMenu nav={props.nav} />
            </div>
          </>
        ) : (
          <div class="ml-auto flex gap-3 text-sm">
            <a href="/auth/login" class="hover:text-indigo-600">
              Sign in
            </a>
            <a
              href="/auth/signup"
              class="rounded-md bg-indigo-600 px-3 py-1 font-medium text-white hover:bg-indigo-500"
            >
              Sign up
            </a>
          </div>
        )}
      </div>
    </header>
  );
}
