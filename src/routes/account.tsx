import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const accountRoutes = new Hono<AppEnv>();
