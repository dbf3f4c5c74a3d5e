import { Hono } from 'hono';
import { pingDatabase } from '../db/health.repository.ts';
import type { AppEnv } from '../lib/app-env.ts';

/** Liveness in the shape existing probes expect: {"status":"UP"} 200, or {"status":"DOWN"} 503. */
export const healthRoutes = new Hono<AppEnv>().get('/health', async (c) => {
  c.header('Cache-Control', 'no-store');
  const up = await pingDatabase(c.get('deps').db);
  return up ? c.json({ status: 'UP' }, 200) : c.json({ status: 'DOWN' }, 503);
});
