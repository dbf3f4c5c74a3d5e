import { Hono } from 'hono';
import { countUsers } from '../db/users.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';
import { respond } from '../lib/negotiate.tsx';
import { HomePage, type HomeView } from '../views/pages/home-page.tsx';

/** The start page: on a fresh installation (no users yet) it explains the first step. */
export const homeRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const { db, dbKind } = c.get('deps');
  const users = await countUsers(db);
  const view: HomeView = { firstRun: users === 0, database: dbKind };
  return respond(c, view, HomePage, { title: view.firstRun ? 'Welcome' : 'Home' });
});
