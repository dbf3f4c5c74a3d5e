import { base64url, constantTimeEqual, fromBase64url } from '../lib/crypto.ts';

/**
 * Password hashing with WebCrypto PBKDF2-SHA256 (the same code on Node and Workers). The algorithm,
 * iteration count and salt are stored with each hash and replayed on verification, so the target
 * can rise without invalidating old hashes; a hash below the running target is upgraded at the next
 * successful sign-in.
 */
export const ALGORITHM = 'pbkdf2-sha256';
/** Cloudflare Workers in production refuse PBKDF2 above 100,000 iterations. */
export const WORKERS_MAX_ITERATIONS = 100_000;
const KEY_BITS = 256;
const SALT_BYTES = 16;
export const MIN_PASSWORD_LENGTH = 10;

export type Runtime = 'node' | 'workers';

/** The iteration target for a runtime: the configured one, capped on Workers. */
export function passwordIterationsFor(runtime: Runtime, configured: number): number {
  return runtime === 'workers' ? Math.min(configured, WORKERS_MAX_ITERATIONS) : configured;
}

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    KEY_BITS,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, iterations);
  return `${ALGORITHM}$${iterations}$${base64url(salt)}$${base64url(hash)}`;
}

export function iterationsOf(stored: string): number {
  return Number(stored.split('$')[1] ?? 0);
}

/** True when `password` matches `stored`. Malformed hashes never match. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [algorithm, iterationsText, saltText, hashText] = stored.split('$');
  const iterations = Number(iterationsText);
  if (algorithm !== ALGORITHM || !Number.isInteger(iterations) || iterations < 1 || !saltText || !hashText)
    return false;
  const expected = fromBase64url(hashText);
  const actual = await derive(password, fromBase64url(saltText), iterations);
  return constantTimeEqual(actual, expected);
}

const dummyHashes = new Map<number, Promise<string>>();

/**
 * A hash to verify against when the account does not exist, so timing does not reveal that. It is
 * computed once per iteration count and kept: computing a fresh one each time cost a second
 * PBKDF2 run, which made an unknown email measurably slower than a known one.
 */
export function dummyHash(iterations: number): Promise<string> {
  let hash = dummyHashes.get(iterations);
  if (!hash) {
    hash = hashPassword('not-a-real-password', iterations);
    hash.catch(() => dummyHashes.delete(iterations));
    dummyHashes.set(iterations, hash);
  }
  return hash;
}
