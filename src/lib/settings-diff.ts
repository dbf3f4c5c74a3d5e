/**
 * A field-by-field diff of two settings objects, for the review pages: one entry per JSON pointer
 * whose value was added, removed or changed. Objects are compared key by key and arrays position
 * by position (a sink list's rows are what the user added, removed or reordered), down to leaves.
 * Callers pass settings with secrets already masked, so a diff never carries a secret value.
 */
export interface SettingsChange {
  /** JSON pointer of the changed value, e.g. `/eventSinks/kafka/0/topic`. */
  pointer: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function diffSettings(before: unknown, after: unknown): SettingsChange[] {
  const changes: SettingsChange[] = [];
  walk(before, after, '', changes);
  return changes;
}

function walk(before: unknown, after: unknown, pointer: string, changes: SettingsChange[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) {
    changes.push({ pointer, kind: 'added', after });
    return;
  }
  if (after === undefined) {
    changes.push({ pointer, kind: 'removed', before });
    return;
  }
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) walk(before[key], after[key], `${pointer}/${escapeToken(key)}`, changes);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let index = 0; index < length; index++)
      walk(before[index], after[index], `${pointer}/${index}`, changes);
    return;
  }
  if (JSON.stringify(before) !== JSON.stringify(after))
    changes.push({ pointer, kind: 'changed', before, after });
}
