import { Hono } from 'hono';
import { countUsers, findUserById } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { representationFor, respond } from '../lib/negotiate.tsx';
import { can } from '../services/rbac.ts';
import { HomePage, type HomeView } from '../views/pages/home-page.tsx';

/**
 * The start page. A signed-in browser goes back to the project or organization it used last
 * (when it still may read it); anyone else sees the welcome page, which on a fresh installation
 * (no users yet) explains the first step.
 */
export const homeRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const { db, dbKind, clock } = c.get('deps');
  const principal = c.get('principal');
  if (principal && representationFor(c) === 'page') {
    const user = await findUserById(db, principal.userId);
    const now = clock.now();
    if (user?.last_project_id && (await can(db, principal, 'read', 'project', user.last_project_id, now))) {
      return c.redirect(`/projects/${user.last_project_id}`, 303);
    }
    if (user?.last_org_id && (await can(db, principal, 'read', 'organization', user.last_org_id, now))) {
      return c.redirect(`/organizations/${user.last_org_id}`, 303);
    }
    return c.redirect('/organizations', 303);
  }
  const users = await countUsers(db);
  const view: HomeView = { firstRun: users === 0, database: dbKind, signedIn: Boolean(principal) };
  return respond(c, view, HomePage, { title: view.firstRun ? 'Welcome' : 'Home' });
});
