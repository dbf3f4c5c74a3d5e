import { z } from 'zod';

/** Inputs of the access pages and API (`…/access`). JSON uses the column names. */

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * An expiry: a date (`2027-01-31`, from a date input: access ends when that day starts, UTC) or a
 * timestamp with an offset (`2027-01-31T12:00:00Z`). Empty or null means "never expires".
 */
export const expiryInput = z.union([z.string(), z.null()]).transform((value, ctx) => {
  if (value === null || value.trim() === '') return null;
  const text = value.trim();
  if (z.iso.date().safeParse(text).success) return new Date(`${text}T00:00:00Z`);
  if (z.iso.datetime({ offset: true }).safeParse(text).success) return new Date(text);
  ctx.addIssue({
    code: 'custom',
    message: 'enter a date (2027-01-31) or a timestamp with a time zone (2027-01-31T12:00:00Z)',
  });
  return z.NEVER;
});

const roleId = z
  .string({ error: 'choose a role' })
  .trim()
  .min(1, 'choose a role')
  .max(100, 'use at most 100 characters');

export const grantAccessInput = z
  .object({
    email: z.preprocess(
      blankToUndefined,
      z
        .string()
        .trim()
        .toLowerCase()
        .pipe(z.email('enter an email address like name@example.com').max(254))
        .optional(),
    ),
    user_id: z.preprocess(blankToUndefined, z.string().trim().max(255).optional()),
    role_id: roleId,
    expires_at: expiryInput.optional(),
  })
  .superRefine((value, ctx) => {
    if (value.email === undefined && value.user_id === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['email'],
        message: 'enter the email address of the person to grant access to',
      });
    } else if (value.email !== undefined && value.user_id !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'send either email or user_id, not both' });
    }
  });
export type GrantAccessInput = z.output<typeof grantAccessInput>;

export const changeAssignmentInput = z
  .object({
    role_id: roleId.optional(),
    expires_at: expiryInput.optional(),
  })
  .refine((value) => value.role_id !== undefined || value.expires_at !== undefined, {
    message: 'send role_id or expires_at (null to remove the expiry) to change',
  });
export type ChangeAssignmentInput = z.output<typeof changeAssignmentInput>;

export const candidateQuery = z.object({
  q: z.string().trim().max(254, 'use at most 254 characters').default(''),
});
