import { Hono } from 'hono';
import type { AppEnv } from '../lib/app-env.ts';
import { requireUser } from '../lib/auth-middleware.ts';
import { notFound } from '../lib/errors.ts';
import { getResourceType, listResourceTypes, resourceTypeNames } from '../schemas/resource-types/registry.ts';
import { resourceTypeDocument } from '../services/resource-types.ts';

/**
 * The product catalogue (JSON only, mounted under /api/v1 alone):
 * - GET /resource-types → every type: display data, SKUs, presets, defaults, JSON Schema of settings
 * - GET /resource-types/:type → one of them; an unknown name is a 404 naming the known ones.
 *
 * Tenancy: resource types describe the product, not tenant data, and are the same for everyone,
 * so a signed-in caller is enough (requireUser) and there is no requireAccess / scope check. The
 * `:type` parameter is a type name, not a tenant id. Answers come from the registry in code (the
 * source of truth); the resource_types table is a copy for tools that read the database.
 */
export const resourceTypesRoutes = new Hono<AppEnv>();

resourceTypesRoutes.get('/resource-types', requireUser(), (c) => {
  return c.json(listResourceTypes().map(resourceTypeDocument));
});

resourceTypesRoutes.get('/resource-types/:type', requireUser(), (c) => {
  const name = c.req.param('type');
  const type = getResourceType(name);
  if (!type) {
    throw notFound(
      `There is no resource type "${name.slice(0, 100)}". Known types: ${resourceTypeNames().join(', ')}.`,
    );
  }
  return c.json(resourceTypeDocument(type));
});
