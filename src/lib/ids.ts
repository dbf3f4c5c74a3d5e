import { z } from 'zod';

/**
 * Ids of organizations, projects and resources become Kubernetes names, so they are DNS labels:
 * 1–63 characters, a lowercase letter first, then lowercase letters, digits and single hyphens,
 * no trailing hyphen. The same rule is a CHECK in the database (domain ktrlplane.dns_label).
 */
export function dnsLabelProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 63) return 'must be at most 63 characters';
  if (!/^[a-z]/.test(value)) return 'must start with a lowercase letter';
  if (!/^[a-z0-9-]*$/.test(value)) return 'may contain only lowercase letters, digits and hyphens';
  if (value.endsWith('-')) return 'must not end with a hyphen';
  if (value.includes('--')) return 'must not contain two hyphens in a row';
  return null;
}

/** One message per bad id: the first rule it breaks. */
export const dnsLabel = z.string().superRefine((value, ctx) => {
  const problem = dnsLabelProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
