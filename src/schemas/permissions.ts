import { z } from 'zod';

/** The data-plane contract of /api/v1/permissions/check (existing graph services call it). */
export const permissionCheckQuery = z.object({
  scopeType: z.enum(['organization', 'project', 'resource'], {
    error: 'scopeType must be organization, project or resource',
  }),
  scopeId: z.string().min(1, 'scopeId is required').max(255),
  userId: z.string().min(1).max(255).optional(),
});

export const resourceListQuery = z.object({
  resource_type: z.string().min(1).max(100).optional(),
});
