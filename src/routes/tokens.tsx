import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';

export const tokensRoutes = new Hono<AppEnv>();
