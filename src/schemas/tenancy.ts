import { z } from 'zod';
import { dnsLabel } from '../lib/ids.ts';

/** Inputs of organizations and projects. JSON uses the column names, as the existing API did. */
const name = z.string().trim().min(1, 'enter a name').max(200, 'use at most 200 characters');
const optionalId = z.preprocess((value) => (value === '' ? undefined : value), dnsLabel.optional());

export const createOrganizationInput = z.object({ name, org_id: optionalId });
export const updateOrganizationInput = z.object({ name });
export const createProjectInput = z.object({
  name,
  project_id: optionalId,
  description: z.string().trim().max(2000, 'use at most 2000 characters').default(''),
});
export const updateProjectInput = z
  .object({
    name: name.optional(),
    description: z.string().trim().max(2000, 'use at most 2000 characters').optional(),
  })
  .refine(
    (value) => value.name !== undefined || value.description !== undefined,
    'send a name or a description to change',
  );
/** Deleting asks the caller to type the name, so a slip of the hand deletes nothing. */
export const confirmDeleteInput = z.object({ confirm: z.string() });
