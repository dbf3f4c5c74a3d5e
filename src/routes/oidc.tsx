import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const oidcRoutes = new Hono<AppEnv>();
