import { z } from 'zod';

/**
 * Ids of organizations, projects and resources become Kubernetes names, so they are DNS labels:
 * 1–63 characters, a lowercase letter first, then lowercase letters, digits and single hyphens,
 * no trailing hyphen. The same rule is a CHECK in the database (domain ktrlplane.dns_label).
 */
export const dnsLabel = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z]/, 'must start with a lowercase letter')
  .regex(/^[a-z0-9-]*$/, 'may contain only lowercase letters, digits and hyphens')
  .refine((value) => !value.endsWith('-'), 'must not end with a hyphen')
  .refine((value) => !value.includes('--'), 'must not contain two hyphens in a row');

export function isDnsLabel(value: string): boolean {
  return dnsLabel.safeParse(value).success;
}
