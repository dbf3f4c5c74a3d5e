import type { FieldError } from '../lib/errors.ts';
import { boundValueAt, changedBoundFields, reenterSecretMessage } from '../lib/secret-bindings.ts';
import { isSecretKeyRef } from '../lib/secret-refs.ts';

/**
 * Secret settings (fields marked `secret` in a type's schema, e.g. a Kafka SASL password) are
 * stored in settings_json, because the operator renders them into the workload, but they never
 * leave ktrlplane again: JSON and HTML show that they are set, not what they are. A write that
 * leaves a stored secret out keeps it (null removes it), so a client can GET, change one field and PATCH back —
 * unless a field the secret is bound to (`boundTo` in its meta: where it is sent) changed, see
 * keepStoredSecrets. A reference to a Konnektr.Secret entry (`valueFrom.secretKeyRef`) is not a
 * secret itself: it is shown and audited like any setting.
 */
type Json = Record<string, unknown>;

function decode(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function encode(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Concrete pointers in `value` that match `pattern` (`*` = any array index or record key). */
export function expandPointer(value: unknown, pattern: string): string[] {
  const segments = pattern.split('/').slice(1).map(decode);
  const found: string[] = [];
  const walk = (node: unknown, index: number, path: string) => {
    if (index === segments.length) {
      found.push(path);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const segment = segments[index] ?? '';
    const keys = segment === '*' ? Object.keys(node) : [segment];
    for (const key of keys) {
      if (Object.hasOwn(node, key)) walk((node as Json)[key], index + 1, `${path}/${encode(key)}`);
    }
  };
  walk(value, 0, '');
  return found;
}

function parentAndKey(root: unknown, pointer: string): { parent: Json; key: string } | null {
  const segments = pointer.split('/').slice(1).map(decode);
  const key = segments.pop();
  if (key === undefined) return null;
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return null;
    node = (node as Json)[segment];
  }
  return node !== null && typeof node === 'object' ? { parent: node as Json, key } : null;
}

/** Pointers of the secrets that are set in `settings`. */
export function setSecretPointers(settings: unknown, patterns: readonly string[]): string[] {
  return patterns
    .flatMap((pattern) => expandPointer(settings, pattern))
    .filter((pointer) => {
      const at = parentAndKey(settings, pointer);
      const value = at?.parent[at.key];
      return at !== null && value !== undefined && value !== '' && !isSecretKeyRef(value);
    });
}

/** A copy of `settings` without the values of its secrets. */
export function withoutSecrets<T>(settings: T, patterns: readonly string[]): T {
  const copy = structuredClone(settings);
  for (const pointer of patterns.flatMap((pattern) => expandPointer(copy, pattern))) {
    const at = parentAndKey(copy, pointer);
    if (at && !isSecretKeyRef(at.parent[at.key])) delete at.parent[at.key];
  }
  return copy;
}

/** The concrete pattern (`*` for every index and key) a pointer matches among `patterns`. */
function patternOf(pointer: string, patterns: readonly string[]): string | undefined {
  const segments = pointer.split('/');
  return patterns.find((pattern) => {
    const parts = pattern.split('/');
    return parts.length === segments.length && parts.every((part, i) => part === '*' || part === segments[i]);
  });
}

/** Which bound fields of the secret at `pointer` differ between `before` and `after`. */
export function changedBindings(
  before: unknown,
  after: unknown,
  pointer: string,
  bindings: Readonly<Record<string, readonly string[]>>,
): string[] {
  const pattern = patternOf(pointer, Object.keys(bindings));
  if (!pattern) return [];
  const path = pointer.split('/').slice(1).map(decode);
  return changedBoundFields(
    bindings[pattern] ?? [],
    (p) => boundValueAt(before, path, p),
    (p) => boundValueAt(after, path, p),
  );
}

/**
 * `incoming` with every secret it leaves out (or sends empty) taken from `stored`, where the
 * object holding it is still the same one: same position and, when it has one, same `name`, and
 * none of the fields it is bound to changed (otherwise an Editor could repoint a webhook at their
 * own server and have the stored credential sent there: issue 15, finding 5). A secret refused
 * for that reason is an error at its pointer; the caller answers 422 and stores nothing.
 */
export function keepStoredSecrets(
  incoming: Json,
  stored: Json,
  patterns: readonly string[],
  bindings: Readonly<Record<string, readonly string[]>> = {},
): { settings: Json; errors: FieldError[] } {
  const merged = structuredClone(incoming);
  const errors: FieldError[] = [];
  for (const pointer of patterns.flatMap((pattern) => expandPointer(stored, pattern))) {
    const from = parentAndKey(stored, pointer);
    const to = parentAndKey(merged, pointer);
    if (!from || !to) continue;
    // An explicit null removes the stored secret (the only way an API write can drop one).
    if (to.parent[to.key] === null) {
      delete to.parent[to.key];
      continue;
    }
    const sameObject = from.parent.name === undefined || from.parent.name === to.parent.name;
    const missing = to.parent[to.key] === undefined || to.parent[to.key] === '';
    if (!sameObject || !missing || from.parent[from.key] === undefined) continue;
    const changed = changedBindings(stored, merged, pointer, bindings);
    if (changed.length > 0) errors.push({ pointer, message: reenterSecretMessage(changed) });
    else to.parent[to.key] = from.parent[from.key];
  }
  return { settings: merged, errors };
}

/** `settings` with secret values replaced by a marker, for audit diffs. */
export function maskSecrets(settings: Json, patterns: readonly string[]): Json {
  const copy = structuredClone(settings);
  for (const pointer of setSecretPointers(copy, patterns)) {
    const at = parentAndKey(copy, pointer);
    if (at) at.parent[at.key] = '[REDACTED]';
  }

  return copy;
}

export const REPLACED_SECRET = '[REDACTED: new value]';

/**
 * `settings` masked for a diff against `previous`: a secret that differs from the one at the same
 * place in `previous` shows as replaced, so a review can say a secret changes without showing it.
 */
export function maskSecretsAgainst(settings: Json, previous: Json, patterns: readonly string[]): Json {
  const copy = structuredClone(settings);
  for (const pointer of setSecretPointers(copy, patterns)) {
    const at = parentAndKey(copy, pointer);
    const before = parentAndKey(previous, pointer);
    if (!at) continue;
    const same = before !== null && before.parent[before.key] === at.parent[at.key];
    at.parent[at.key] = same ? '[REDACTED]' : REPLACED_SECRET;
  }
  return copy;
}
