import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const resourceTypesRoutes = new Hono<AppEnv>();
