import { z } from 'zod';

/**
 * Input of POST /tokens. JSON clients send scope_type and scope_id; the browser form sends one
 * `scope` select whose value is "organization:<id>" or "project:<id>" (empty for no scope), which
 * is split here so both go through the same rules. Expiry is `expires_in_days` (1–365; the form's
 * "none" or an empty value means no expiry) or an `expires_at` timestamp, not both; leaving both
 * out makes a token that does not expire.
 */
const blankToUndefined = (value: unknown) =>
  value === '' || value === null || value === 'none' ? undefined : value;

export const TOKEN_EXPIRY_CHOICES = [7, 30, 90, 365] as const;

export const createTokenInput = z.preprocess(
  (raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
    const input = { ...(raw as Record<string, unknown>) };
    if (typeof input.scope === 'string' && input.scope_type === undefined && input.scope_id === undefined) {
      const [type, ...rest] = input.scope.split(':');
      if (type) {
        input.scope_type = type;
        input.scope_id = rest.join(':');
      }
    }
    delete input.scope;
    return input;
  },
  z
    .object({
      name: z
        .string({ error: 'enter a name that says where the token is used' })
        .trim()
        .min(1, 'enter a name that says where the token is used')
        .max(100, 'use at most 100 characters'),
      access: z.preprocess(
        blankToUndefined,
        z.enum(['read', 'read-write'], { error: 'choose "read" or "read-write"' }).default('read-write'),
      ),
      scope_type: z.preprocess(
        blankToUndefined,
        z.enum(['organization', 'project'], { error: 'choose "organization" or "project"' }).optional(),
      ),
      scope_id: z.preprocess(
        blankToUndefined,
        z
          .string({ error: 'send the id of the organization or project as a string' })
          .trim()
          .min(1)
          .max(63, 'ids have at most 63 characters')
          .optional(),
      ),
      expires_in_days: z.preprocess((value) => {
        const blank = blankToUndefined(value);
        return typeof blank === 'string' && /^\s*\d+\s*$/.test(blank) ? Number(blank) : blank;
      }, z
        .number({ error: 'send a whole number of days between 1 and 365' })
        .int('send a whole number of days between 1 and 365')
        .min(1, 'a token must live at least 1 day')
        .max(365, 'a token may live at most 365 days; create a new one when it expires')
        .optional()),
      expires_at: z.preprocess(
        blankToUndefined,
        z.iso
          .datetime({ offset: true, error: 'send an ISO 8601 time with a zone, e.g. 2027-01-31T00:00:00Z' })
          .transform((value) => new Date(value))
          .optional(),
      ),
    })
    .superRefine((value, ctx) => {
      if (value.scope_type && !value.scope_id)
        ctx.addIssue({ code: 'custom', path: ['scope_id'], message: 'send the id of the scope too' });
      if (value.scope_id && !value.scope_type)
        ctx.addIssue({
          code: 'custom',
          path: ['scope_type'],
          message: 'say whether scope_id is an "organization" or a "project"',
        });
      if (value.expires_in_days !== undefined && value.expires_at !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['expires_at'],
          message: 'send expires_in_days or expires_at, not both',
        });
    }),
);

export type CreateTokenInput = z.output<typeof createTokenInput>;
