/** Small WebCrypto helpers that behave the same on Node and Workers. */

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array {
  const padded = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

const RANDOM_BLOCK_BYTES = 4096;
let randomBlock = new Uint8Array(0);
let randomOffset = 0;

/**
 * `length` random bytes for ids made on every request (trace and span ids, CSP nonces), drawn
 * from the CSPRNG a block at a time the way Node's randomUUID buffers its entropy: one
 * getRandomValues call per 4 KiB rather than one per id. Every byte is handed out once; read the
 * bytes straight away (the view is of the shared block).
 */
export function bufferedRandomBytes(length: number): Uint8Array {
  if (randomOffset + length > randomBlock.length) {
    randomBlock = crypto.getRandomValues(new Uint8Array(Math.max(RANDOM_BLOCK_BYTES, length)));
    randomOffset = 0;
  }
  const bytes = randomBlock.subarray(randomOffset, randomOffset + length);
  randomOffset += length;
  return bytes;
}

/** A random secret of `bytes` bytes, base64url encoded (32 bytes = 256 bits by default). */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** A short random suffix of lowercase letters and digits, for generated ids. */
export function randomSuffix(length = 4): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

/**
 * Node's one-shot hash (`crypto.hash`, Node 20.12+), where the runtime has it: a token is hashed
 * on every API request, and WebCrypto's digest is asynchronous by design (a trip through the
 * thread pool and back, many times the cost of hashing fifty bytes). Elsewhere (Workers) WebCrypto
 * does the same job.
 */
interface NodeCrypto {
  hash?: (algorithm: 'sha256', data: string, outputEncoding: 'hex') => string;
}
type WithBuiltins = { process?: { getBuiltinModule?: (id: string) => unknown } };
const nodeHash = (
  (globalThis as WithBuiltins).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined
)?.hash;

/** SHA-256 of the text's UTF-8 bytes, as lowercase hex. */
export async function sha256Hex(text: string): Promise<string> {
  if (nodeHash) return nodeHash('sha256', text, 'hex');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * A new bearer secret (`prefix` + 32 random bytes, base64url) and the SHA-256 hex the database
 * keeps in its place. API tokens and ingest tokens are both made here: the secret is shown once,
 * only the hash is stored, and a presented secret is found again by hashing it.
 */
export async function newBearerSecret(prefix: string): Promise<{ secret: string; hash: string }> {
  const secret = `${prefix}${randomToken(32)}`;
  return { secret, hash: await sha256Hex(secret) };
}

/** Compares two byte strings in time that depends only on their length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}
