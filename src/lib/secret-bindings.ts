/**
 * Where a secret is sent: the non-secret fields named in its `boundTo` meta (a webhook's URL, Kafka
 * brokers, an MQTT host). A stored secret may be carried over by an edit only while they are
 * unchanged; otherwise whoever may edit the settings could repoint them at their own server and
 * have the stored credential sent there. Used by the API merge (services/secret-settings.ts) and
 * the form parser (lib/form-data.ts) alike.
 *
 * A bound path is read from the object that holds the secret: `url` is a sibling field, `../url`
 * a field of the object around it.
 */

type Segment = string | number;

/** The value at bound `path`, for the secret at `secretPath` (segments from the root) in `root`. */
export function boundValueAt(root: unknown, secretPath: readonly Segment[], path: string): unknown {
  const segments: Segment[] = secretPath.slice(0, -1);
  let rest = path;
  while (rest.startsWith('../')) {
    segments.pop();
    rest = rest.slice(3);
  }
  let node: unknown = root;
  for (const segment of [...segments, ...rest.split('/')]) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[String(segment)];
  }
  return node;
}

/** The bound paths whose values differ before and after (compared as JSON). */
export function changedBoundFields(
  boundTo: readonly string[],
  before: (path: string) => unknown,
  after: (path: string) => unknown,
): string[] {
  return boundTo.filter((path) => JSON.stringify(before(path)) !== JSON.stringify(after(path)));
}

/** What a refused carried-over secret says, at its own field. */
export function reenterSecretMessage(changed: readonly string[]): string {
  const fields = changed.map((path) => path.replace(/^(\.\.\/)+/, '')).join(', ');
  return `${fields} changed, so the stored secret is not sent to the new destination: enter it again (or choose a Secret)`;
}
