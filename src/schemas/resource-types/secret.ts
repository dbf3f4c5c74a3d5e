import { z } from 'zod';
import { SECRET_ENTRY_KEY_PATTERN } from '../../lib/secret-refs.ts';
import { defineResourceType, type SkuIssue } from './resource-type.ts';

/**
 * Konnektr.Secret: named key/value entries whose values are write-only. ktrlplane keeps each value
 * encrypted at rest in settings_json (`sealed`, lib/secret-crypto.ts) and never answers, shows or
 * logs it; deploy/operator/secrets.yaml renders one Kubernetes Secret per resource (named by its
 * id, in the project's namespace) from which workloads read them, and other types' secret settings
 * may point at an entry instead of holding a value (`valueFrom.secretKeyRef`).
 */
export const SECRET_TYPE_ID = 'Konnektr.Secret';

const MAX_ENTRIES = 100;
/** Plaintext bytes per value (UTF-8); a Kubernetes Secret holds at most 1 MiB in all. */
export const MAX_SECRET_VALUE_BYTES = 8192;

export const secretSettings = z.strictObject({
  entries: z
    .record(
      z.string().regex(SECRET_ENTRY_KEY_PATTERN),
      // The schema sees either a new plaintext value or the sealed text of a stored one, so its
      // bound is the sealed size; the plaintext bound is checked before sealing (services/secrets.ts).
      z
        .string({ error: 'enter the value as text' })
        .min(1, 'required: enter a value')
        .max(4 * MAX_SECRET_VALUE_BYTES, `use at most ${MAX_SECRET_VALUE_BYTES} bytes`)
        .meta({ label: 'Value', secret: true, sealed: true, widget: 'password' }),
      {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'a key is 1–253 letters, digits, hyphens, underscores and dots (as Kubernetes allows)'
            : undefined,
      },
    )
    .refine((entries) => Object.keys(entries).length <= MAX_ENTRIES, `use at most ${MAX_ENTRIES} entries`)
    .default({})
    .meta({
      label: 'Entries',
      help: 'Values are write-only: once saved they are never shown again. Type a new value to replace one.',
      keyLabel: 'Key',
      valueLabel: 'Value',
    }),
});

export type SecretSettings = z.output<typeof secretSettings>;

const SAME_ON_EVERY_SKU = { max_entries: MAX_ENTRIES };

export const secret = defineResourceType({
  name: SECRET_TYPE_ID,
  displayName: 'Secret',
  description:
    'Write-only key/value entries (passwords, tokens, keys) kept encrypted, delivered to the project’s namespace as a Kubernetes Secret, and usable by other resources’ secret settings.',
  icon: {
    viewBox: '0 0 24 24',
    // A key.
    paths: ['M14 10a4 4 0 1 0-3.5 4L12 15.5V18h2.5v2.5H17V18l-3-3', 'M8 10h.01'],
  },
  skus: {
    free: {
      displayName: 'Free',
      description: 'A Secret of up to 100 entries.',
      limits: SAME_ON_EVERY_SKU,
      features: ['Up to 100 entries', 'Encrypted at rest', 'Delivered as a Kubernetes Secret'],
    },
    standard: {
      displayName: 'Standard',
      description: 'The same Secret, for projects on the standard plan.',
      limits: SAME_ON_EVERY_SKU,
      features: ['Up to 100 entries', 'Encrypted at rest', 'Delivered as a Kubernetes Secret'],
    },
  },
  settings: secretSettings,
  presets: [],
  checkSku(): SkuIssue[] {
    return [];
  },
  deployment: {
    workload: 'kubernetes-secret',
    values: [],
    health_checks: [],
  },
});
