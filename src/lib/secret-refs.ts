import { z } from 'zod';

/**
 * A reference to an entry of a Konnektr.Secret, accepted by secret settings instead of a literal
 * value: `{"valueFrom":{"secretKeyRef":{"name":"<secret resource id>","key":"<entry key>"}}}`, the
 * shape Kubernetes and the production Graph chart use. `name` is the Secret resource's id, because
 * that is the name of the Kubernetes Secret rendered from it in the project's namespace
 * (deploy/operator/secrets.yaml), which the workload then reads; a display name could be
 * ambiguous and is not what the cluster knows.
 */

/** Kubernetes Secret data keys: letters, digits, `-`, `_` and `.`, at most 253. */
export const SECRET_ENTRY_KEY_PATTERN = /^[-._a-zA-Z0-9]{1,253}$/;

export const secretKeyRefSchema = z.strictObject({
  valueFrom: z.strictObject({
    secretKeyRef: z.strictObject({
      name: z
        .string({ error: 'enter the id of a Secret of this project' })
        .regex(/^[a-z][a-z0-9-]{0,62}$/, 'enter the id of a Secret of this project'),
      key: z
        .string({ error: 'enter a key of that Secret' })
        .regex(SECRET_ENTRY_KEY_PATTERN, 'enter a key of that Secret (letters, digits, -, _ and .)'),
    }),
  }),
});

export type SecretKeyRef = z.output<typeof secretKeyRefSchema>;

export function secretKeyRef(name: string, key: string): SecretKeyRef {
  return { valueFrom: { secretKeyRef: { name, key } } };
}

/** Whether `value` has the reference's shape (checked again by the schema when it is stored). */
export function isSecretKeyRef(value: unknown): value is SecretKeyRef {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const from = (value as { valueFrom?: unknown }).valueFrom;
  if (typeof from !== 'object' || from === null) return false;
  const ref = (from as { secretKeyRef?: unknown }).secretKeyRef;
  if (typeof ref !== 'object' || ref === null) return false;
  const { name, key } = ref as { name?: unknown; key?: unknown };
  return typeof name === 'string' && typeof key === 'string';
}
