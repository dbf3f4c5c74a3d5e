import type { Kysely } from 'kysely';
import {
  listResourcesWithSecretRefs,
  listSecretKeysInProject,
  lockAllSecrets,
  replaceSealedSettings,
} from '../db/secrets.repository.ts';
import { withTransaction } from '../db/transaction.ts';
import type { Database } from '../db/types.ts';
import { conflict, type FieldError, unprocessable } from '../lib/errors.ts';
import {
  isSealed,
  openSecret,
  type SecretKeyring,
  SecretOpenError,
  sealedWithCurrentKeys,
  sealSecret,
} from '../lib/secret-crypto.ts';
import { isSecretKeyRef } from '../lib/secret-refs.ts';
import { SECRET_TYPE_ID } from '../schemas/resource-types/registry.ts';
import type { ResourceTypeDefinition } from '../schemas/resource-types/resource-type.ts';
import { MAX_SECRET_VALUE_BYTES } from '../schemas/resource-types/secret.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import type { AuthorizedScope } from './rbac.ts';
import { expandPointer } from './secret-settings.ts';

/**
 * Konnektr.Secret values and the references to them.
 *
 * - Sealing: a type's `sealed` settings (a Secret's entries) are encrypted before they are stored;
 *   a value that is already a sealed value of this resource and opens with our keys is a stored
 *   one carried over and stays as it is. Without SECRETS_ENCRYPTION_KEY and SECRETS_OPERATOR_KEY
 *   nothing is stored: a Secret may exist without entries, but a value is refused with a message
 *   for the administrator, rather than kept in clear text or under a made-up key.
 * - References: a secret setting may hold `valueFrom.secretKeyRef` {name: a Secret's resource id,
 *   key}; it must name a Secret of the same project that has that key. A Secret of another project
 *   answers exactly like a missing one, so ids of other tenants cannot be probed.
 * - Deleting a Secret, or removing a key from it, that a resource still refers to is a 409 that
 *   names the resources and fields.
 */

type Json = Record<string, unknown>;

const NO_KEYS_MESSAGE =
  'this server cannot store secret values: its administrator must set SECRETS_ENCRYPTION_KEY and SECRETS_OPERATOR_KEY (see README, "Secrets")';

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const segment of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Json)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node;
}

function setAt(root: Json, pointer: string, value: unknown): void {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const key = segments.pop() as string;
  let node: Json = root;
  for (const segment of segments) node = node[segment] as Json;
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `settings` with every new value of a sealed setting encrypted for `resourceId`. Stored values
 * carried over are kept as they are: they are sealed values of this resource that open with our
 * keys (a sealed text from anywhere else, or made up, does not open and is sealed like any text).
 */
export async function sealSettings(
  type: ResourceTypeDefinition,
  resourceId: string,
  settings: Json,
  keyring: SecretKeyring | null,
): Promise<Json> {
  if (type.sealedSettings.length === 0) return settings;
  const out = structuredClone(settings);
  const errors: FieldError[] = [];
  for (const pointer of type.sealedSettings.flatMap((pattern) => expandPointer(out, pattern))) {
    const value = valueAt(out, pointer);
    if (typeof value !== 'string') continue;
    if (!keyring) {
      errors.push({ pointer: `/settings_json${pointer}`, message: NO_KEYS_MESSAGE });
      continue;
    }
    if (isSealed(value) && (await opensFor(keyring, resourceId, value))) continue;
    if (new TextEncoder().encode(value).length > MAX_SECRET_VALUE_BYTES) {
      errors.push({
        pointer: `/settings_json${pointer}`,
        message: `use at most ${MAX_SECRET_VALUE_BYTES} bytes`,
      });
      continue;
    }
    setAt(out, pointer, await sealSecret(keyring, resourceId, value));
  }
  if (errors.length > 0)
    throw unprocessable(
      errors,
      keyring ? 'Some settings are invalid; see errors.' : 'This server cannot store secret values yet.',
    );
  return out;
}

async function opensFor(keyring: SecretKeyring, resourceId: string, sealed: string): Promise<boolean> {
  try {
    await openSecret(keyring, resourceId, sealed);
    return true;
  } catch (error) {
    if (error instanceof SecretOpenError) return false;
    throw error;
  }
}

/** Every reference in `settings` at a secret pointer of `type`: where, and to what. */
export function secretRefsIn(
  type: ResourceTypeDefinition,
  settings: unknown,
): Array<{ pointer: string; name: string; key: string }> {
  return type.deployment.secret_settings
    .flatMap((pattern) => expandPointer(settings, pattern))
    .flatMap((pointer) => {
      const value = valueAt(settings, pointer);
      return isSecretKeyRef(value)
        ? [{ pointer, name: value.valueFrom.secretKeyRef.name, key: value.valueFrom.secretKeyRef.key }]
        : [];
    });
}

/**
 * Refuses references that do not name an entry of a Secret of the project (422 at each field).
 * `scope` is the project (create) or the resource (update) the caller was authorized for.
 */
export async function checkSecretRefs(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project' | 'resource'>,
  type: ResourceTypeDefinition,
  settings: unknown,
): Promise<void> {
  const refs = secretRefsIn(type, settings);
  if (refs.length === 0) return;
  const secrets = new Map(
    (await listSecretKeysInProject(db, scope)).map((secret) => [secret.resource_id, new Set(secret.keys)]),
  );
  const errors: FieldError[] = [];
  for (const ref of refs) {
    const keys = secrets.get(ref.name);
    if (!keys) {
      errors.push({
        pointer: `/settings_json${ref.pointer}`,
        message: `there is no Secret "${ref.name}" in this project; name the id of one of its Secrets`,
      });
    } else if (!keys.has(ref.key)) {
      errors.push({
        pointer: `/settings_json${ref.pointer}`,
        message: `the Secret "${ref.name}" has no key "${ref.key}"${keys.size > 0 ? `; it has: ${[...keys].join(', ')}` : ''}`,
      });
    }
  }
  if (errors.length > 0)
    throw unprocessable(errors, 'Some settings refer to Secrets that do not exist; see errors.');
}

/** Who refers to the Secret `secretId` (optionally only to these keys), as "resource (field)". */
async function referrers(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  secretId: string,
  keys: ReadonlySet<string> | null,
  types: (name: string) => ResourceTypeDefinition | undefined,
): Promise<string[]> {
  const found: string[] = [];
  for (const row of await listResourcesWithSecretRefs(db, scope, secretId)) {
    const type = types(row.type);
    if (!type) continue;
    for (const ref of secretRefsIn(type, row.settings_json)) {
      if (ref.name === secretId && (keys === null || keys.has(ref.key)))
        found.push(`${row.name} (${row.resource_id}) at ${ref.pointer} uses key "${ref.key}"`);
    }
  }
  return found;
}

/** 409 when a resource still refers to the Secret being deleted. */
export async function refuseDeletingReferencedSecret(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  secret: { resource_id: string; type: string },
  types: (name: string) => ResourceTypeDefinition | undefined,
): Promise<void> {
  if (secret.type !== SECRET_TYPE_ID) return;
  const users = await referrers(db, scope, secret.resource_id, null, types);
  if (users.length > 0) {
    throw conflict(
      `This Secret is still in use: ${users.join('; ')}. Change those settings first, then delete it.`,
    );
  }
}

/** 409 when an edit of a Secret removes keys that a resource still refers to. */
export async function refuseRemovingReferencedKeys(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'>,
  secret: { resource_id: string; type: string },
  before: unknown,
  after: unknown,
  types: (name: string) => ResourceTypeDefinition | undefined,
): Promise<void> {
  if (secret.type !== SECRET_TYPE_ID) return;
  const keysOf = (settings: unknown) =>
    new Set(Object.keys((valueAt(settings, '/entries') as Json | undefined) ?? {}));
  const kept = keysOf(after);
  const removed = new Set([...keysOf(before)].filter((key) => !kept.has(key)));
  if (removed.size === 0) return;
  const users = await referrers(db, scope, secret.resource_id, removed, types);
  if (users.length > 0) {
    throw conflict(
      `Keys you removed are still in use: ${users.join('; ')}. Change those settings first, then remove the keys.`,
    );
  }
}

/** The project's Secrets and their keys, for the "use a Secret" picker of secret fields. */
export async function secretChoices(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project' | 'resource'>,
): Promise<Array<{ id: string; name: string; keys: string[] }>> {
  return (await listSecretKeysInProject(db, scope)).map((secret) => ({
    id: secret.resource_id,
    name: secret.name,
    keys: secret.keys,
  }));
}

export interface ReencryptReport {
  secrets: number;
  entries: number;
  reencrypted: number;
  /** Entries that did not open (their key is gone, or the value was altered): left as they are. */
  failed: Array<{ resource_id: string; key: string; reason: string }>;
}

/**
 * Re-seals every Secret value that is not sealed with the current keys (SECRETS_ENCRYPTION_KEY
 * and SECRETS_OPERATOR_KEY): after a rotation, once, before the old key leaves
 * SECRETS_ENCRYPTION_OLD_KEYS. One transaction with the Secrets locked, an audit event per Secret
 * changed (which keys, never values); safe to run again (nothing left to do is a no-op).
 */
export async function reencryptSecrets(
  db: Kysely<Database>,
  keyring: SecretKeyring,
  actor: AuditActor,
  now: Date,
  options: { dryRun?: boolean } = {},
): Promise<ReencryptReport> {
  return withTransaction(db, async (trx) => {
    const report: ReencryptReport = { secrets: 0, entries: 0, reencrypted: 0, failed: [] };
    for (const row of await lockAllSecrets(trx)) {
      report.secrets += 1;
      const entries = (row.settings_json.entries ?? {}) as Record<string, unknown>;
      const next: Record<string, unknown> = { ...entries };
      const changed: string[] = [];
      for (const [key, value] of Object.entries(entries)) {
        if (typeof value !== 'string') continue;
        report.entries += 1;
        if (sealedWithCurrentKeys(keyring, value)) continue;
        try {
          const plain = await openSecret(keyring, row.resource_id, value);
          next[key] = await sealSecret(keyring, row.resource_id, plain);
          changed.push(key);
        } catch (error) {
          if (!(error instanceof SecretOpenError)) throw error;
          report.failed.push({ resource_id: row.resource_id, key, reason: error.message });
        }
      }
      if (changed.length === 0) continue;
      report.reencrypted += changed.length;
      if (options.dryRun) continue;
      await replaceSealedSettings(trx, row.resource_id, { ...row.settings_json, entries: next });
      await recordAudit(
        trx,
        actor,
        {
          action: 'secret.reencrypted',
          targetType: 'resource',
          targetId: row.resource_id,
          orgId: row.org_id,
          after: { keys: changed.sort(), key_id: keyring.current.id, operator_key_id: keyring.operator.id },
        },
        now,
      );
    }
    return report;
  });
}
