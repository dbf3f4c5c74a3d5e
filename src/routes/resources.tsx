import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const resourcesRoutes = new Hono<AppEnv>();
