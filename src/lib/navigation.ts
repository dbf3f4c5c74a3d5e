import type { MiddlewareHandler } from 'hono';
import { pastDueOrganizations } from '../db/billing.repository.ts';
import { countUnreadNotifications } from '../db/notifications.repository.ts';
import { listOrganizationsForUser } from '../db/organizations.repository.ts';
import { findUserById } from '../db/users.repository.ts';
import type { AppEnv } from './app-env.ts';
import { representationFor } from './negotiate.tsx';

export interface Navigation {
  user: { name: string | null; email: string | null };
  organizations: Array<{ org_id: string; name: string }>;
  lastOrgId: string | null;
  /** The user's organizations with an unpaid invoice: their pages show a banner. */
  pastDue: Array<{ org_id: string; suspended: boolean }>;
  /** Unread in-app notifications: the count on the header's bell. */
  unreadNotifications: number;
}

/**
 * Loads what the header needs (who is signed in, their organizations for the switcher) for full
 * page renders only; fragments and JSON skip the query.
 */
export function loadNavigation(): MiddlewareHandler<AppEnv> {
  return async function navigation(c, next) {
    const principal = c.get('principal');
    // Also for form posts: a 4xx re-render or an error page is a full page with the header too.
    if (principal && representationFor(c) === 'page') {
      const { db, clock } = c.get('deps');
      const [organizations, user, unreadNotifications] = await Promise.all([
        listOrganizationsForUser(db, principal, clock.now()),
        findUserById(db, principal.userId),
        countUnreadNotifications(db, principal.userId),
      ]);
      const pastDue = await pastDueOrganizations(
        db,
        organizations.map((org) => org.org_id),
      );
      c.set('nav', {
        user: { name: principal.name, email: principal.email },
        organizations: organizations.map((org) => ({ org_id: org.org_id, name: org.name })),
        lastOrgId: user?.last_org_id ?? null,
        pastDue,
        unreadNotifications,
      });
    }
    await next();
  };
}
