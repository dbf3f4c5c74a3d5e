import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { resourceSettingsRoutes } from './resource-settings.tsx';
import { resourceWizardRoutes } from './resource-wizard.tsx';

/**
 * The browser side of resources: the creation wizard (resource-wizard.tsx) and the settings
 * editor with its review (resource-settings.tsx), both generated from the type's schema by the
 * form engine (src/views/forms). The JSON API of resources is routes/resources.tsx.
 */
export const resourcePagesRoutes = new Hono<AppEnv>()
  .route('/', resourceWizardRoutes)
  .route('/', resourceSettingsRoutes);
