/**
 * Secret settings (fields marked `secret` in a type's schema, e.g. a Kafka SASL password) are
 * stored in settings_json, because the operator renders them into the workload, but they never
 * leave ktrlplane again: JSON and HTML show that they are set, not what they are. A write that
 * leaves a stored secret out keeps it, so a client can GET, change one field and PATCH back.
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
      return at !== null && at.parent[at.key] !== undefined && at.parent[at.key] !== '';
    });
}

/** A copy of `settings` without the values of its secrets. */
export function withoutSecrets<T>(settings: T, patterns: readonly string[]): T {
  const copy = structuredClone(settings);
  for (const pointer of patterns.flatMap((pattern) => expandPointer(copy, pattern))) {
    const at = parentAndKey(copy, pointer);
    if (at) delete at.parent[at.key];
  }
  return copy;
}

/**
 * `incoming` with every secret it leaves out (or sends empty) taken from `stored`, where the
 * object holding it is still the same one: same position and, when it has one, same `name`.
 */
export function keepStoredSecrets(incoming: Json, stored: Json, patterns: readonly string[]): Json {
  const merged = structuredClone(incoming);
  for (const pointer of patterns.flatMap((pattern) => expandPointer(stored, pattern))) {
    const from = parentAndKey(stored, pointer);
    const to = parentAndKey(merged, pointer);
    if (!from || !to) continue;
    const sameObject = from.parent.name === undefined || from.parent.name === to.parent.name;
    const missing = to.parent[to.key] === undefined || to.parent[to.key] === '';
    if (sameObject && missing && from.parent[from.key] !== undefined)
      to.parent[to.key] = from.parent[from.key];
  }
  return merged;
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
