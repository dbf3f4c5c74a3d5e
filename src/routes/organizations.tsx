import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const organizationsRoutes = new Hono<AppEnv>();
