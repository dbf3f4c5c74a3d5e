/**
 * Encryption at rest of secret values (the entries of a Konnektr.Secret), with Web Crypto only so
 * it runs the same on Node and Workers.
 *
 * A sealed value is one text, stored where the plaintext would be:
 *
 *   ksec1.<key id>.<iv>.<ciphertext+tag>.<operator key id>.<operator iv>.<operator ciphertext>.<operator mac>
 *
 * (standard base64 parts). The first half is AES-256-GCM under ktrlplane's current key
 * (SECRETS_ENCRYPTION_KEY), the resource id as additional data so a value cannot be moved to
 * another resource; ktrlplane needs it only to re-encrypt (rotation). The second half is the same
 * plaintext for db-query-operator, AES-256-CBC then HMAC-SHA256 (encrypt-then-MAC) under
 * SECRETS_OPERATOR_KEY, because that is what PostgreSQL's pgcrypto can open in SQL
 * (`decrypt_iv`, `hmac`; it has no GCM): deploy/operator/operator-secrets.sql defines the function
 * that opens it with a copy of that key readable only by the operator's database role.
 *
 * Key ids are the first 8 bytes of the key's SHA-256 (hex), so a key needs no name and a stored
 * value says which key sealed it; old keys (SECRETS_ENCRYPTION_OLD_KEYS) only open.
 */

export const SEALED_PREFIX = 'ksec1.';

export interface SecretKeyConfig {
  SECRETS_ENCRYPTION_KEY?: string | undefined;
  SECRETS_ENCRYPTION_OLD_KEYS?: string | undefined;
  SECRETS_OPERATOR_KEY?: string | undefined;
}

interface AppKey {
  id: string;
  key: CryptoKey;
}

export interface SecretKeyring {
  current: AppKey;
  /** Every key that may open a value, current included, by id. */
  byId: Map<string, CryptoKey>;
  operator: { id: string; encrypt: CryptoKey; mac: CryptoKey };
}

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** The 32 bytes of a base64 key, or an error that names the setting. */
export function decodeKey(text: string, setting: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromBase64(text.trim());
  } catch {
    throw new Error(`${setting} must be base64 (make one with: openssl rand -base64 32)`);
  }
  if (bytes.length !== 32)
    throw new Error(
      `${setting} must be 32 bytes in base64 (openssl rand -base64 32); it has ${bytes.length}`,
    );
  return bytes;
}

async function keyId(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function hmacBytes(key: Uint8Array<ArrayBuffer>, label: string): Promise<Uint8Array<ArrayBuffer>> {
  const mac = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', mac, encoder.encode(label)));
}

/** Labels of the two operator subkeys: HMAC-SHA256(operator key, label), the same in SQL. */
export const OPERATOR_ENCRYPTION_LABEL = 'ktrlplane secrets: encryption';
export const OPERATOR_MAC_LABEL = 'ktrlplane secrets: authentication';

const keyrings = new WeakMap<object, Promise<SecretKeyring | null>>();

/**
 * The keyring of a configuration, or null when Secrets cannot hold values (no
 * SECRETS_ENCRYPTION_KEY or no SECRETS_OPERATOR_KEY: a value the operator cannot deliver is of no
 * use, and a value kept in clear text is not kept at all). Built once per configuration object.
 */
export function secretKeyringOf(config: SecretKeyConfig): Promise<SecretKeyring | null> {
  let ring = keyrings.get(config);
  if (!ring) {
    ring = buildKeyring(config);
    keyrings.set(config, ring);
  }
  return ring;
}

async function buildKeyring(config: SecretKeyConfig): Promise<SecretKeyring | null> {
  if (!config.SECRETS_ENCRYPTION_KEY || !config.SECRETS_OPERATOR_KEY) return null;
  const importAes = (bytes: Uint8Array<ArrayBuffer>) =>
    crypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt']);
  const currentBytes = decodeKey(config.SECRETS_ENCRYPTION_KEY, 'SECRETS_ENCRYPTION_KEY');
  const current = { id: await keyId(currentBytes), key: await importAes(currentBytes) };
  const byId = new Map([[current.id, current.key]]);
  const old = (config.SECRETS_ENCRYPTION_OLD_KEYS ?? '')
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '');
  for (const text of old) {
    const bytes = decodeKey(text, 'SECRETS_ENCRYPTION_OLD_KEYS');
    const id = await keyId(bytes);
    if (!byId.has(id)) byId.set(id, await importAes(bytes));
  }
  const operatorBytes = decodeKey(config.SECRETS_OPERATOR_KEY, 'SECRETS_OPERATOR_KEY');
  const operator = {
    id: await keyId(operatorBytes),
    encrypt: await crypto.subtle.importKey(
      'raw',
      await hmacBytes(operatorBytes, OPERATOR_ENCRYPTION_LABEL),
      'AES-CBC',
      false,
      ['encrypt'],
    ),
    mac: await crypto.subtle.importKey(
      'raw',
      await hmacBytes(operatorBytes, OPERATOR_MAC_LABEL),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    ),
  };
  return { current, byId, operator };
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX);
}

/** The id of the key that sealed `value` (undefined when it is not a sealed value). */
export function sealedKeyId(value: string): string | undefined {
  return isSealed(value) ? value.split('.')[1] : undefined;
}

/** Seals `plaintext` for resource `resourceId` (both halves; see the top of this file). */
export async function sealSecret(
  ring: SecretKeyring,
  resourceId: string,
  plaintext: string,
): Promise<string> {
  const data = encoder.encode(plaintext);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(resourceId) },
      ring.current.key,
      data,
    ),
  );
  const opIv = crypto.getRandomValues(new Uint8Array(16));
  const opCt = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-CBC', iv: opIv }, ring.operator.encrypt, data),
  );
  const macInput = new Uint8Array([...encoder.encode(resourceId), 0, ...opIv, ...opCt]);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', ring.operator.mac, macInput));
  return `${SEALED_PREFIX}${ring.current.id}.${toBase64(iv)}.${toBase64(sealed)}.${ring.operator.id}.${toBase64(opIv)}.${toBase64(opCt)}.${toBase64(mac)}`;
}

export class SecretOpenError extends Error {
  override name = 'SecretOpenError';
}

/** The plaintext of a sealed value (ktrlplane's half), for re-encryption only. */
export async function openSecret(ring: SecretKeyring, resourceId: string, sealed: string): Promise<string> {
  const parts = sealed.split('.');
  if (parts.length !== 8 || `${parts[0]}.` !== SEALED_PREFIX)
    throw new SecretOpenError('not a sealed secret value');
  const key = ring.byId.get(parts[1] ?? '');
  if (!key)
    throw new SecretOpenError(
      `sealed with key ${parts[1]}, which is neither SECRETS_ENCRYPTION_KEY nor in SECRETS_ENCRYPTION_OLD_KEYS`,
    );
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(parts[2] ?? ''), additionalData: encoder.encode(resourceId) },
      key,
      fromBase64(parts[3] ?? ''),
    );
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new SecretOpenError(
      'the value does not open with its key (altered, or moved from another resource)',
    );
  }
}

/** Whether `sealed` is sealed with the current keys, both halves (no re-encryption needed). */
export function sealedWithCurrentKeys(ring: SecretKeyring, sealed: string): boolean {
  const parts = sealed.split('.');
  return parts.length === 8 && parts[1] === ring.current.id && parts[4] === ring.operator.id;
}
