import type { Kysely } from 'kysely';
import { hitRateLimit } from '../db/rate-limits.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError } from '../lib/errors.ts';

/**
 * Sign-up throttling (issue 15 finding 8): every sign-up costs a full PBKDF2 run and may send a
 * mail, so each client address gets at most 10 attempts an hour, counted atomically in Postgres
 * (shared by every instance) before any hashing. Taken and free addresses count alike. A request
 * whose address is unknown (no socket peer, as in-process tests) is not counted, as for sign-in.
 */
const WINDOW_MS = 60 * 60_000;
export const MAX_SIGNUPS_PER_IP = 10;

/**
 * And per address: the "someone tried to sign up with your address" mail goes out at most this
 * often an hour, so sign-ups from many IPs cannot flood one mailbox (later attempts answer alike).
 */
export const MAX_SIGNUP_MAILS_PER_ADDRESS = 3;

export async function checkSignupAllowed(db: Kysely<Database>, ip: string | null, now: Date): Promise<void> {
  if (!ip) return;
  const { hits } = await hitRateLimit(db, `signup:ip:${ip}`, WINDOW_MS, now);
  if (hits <= MAX_SIGNUPS_PER_IP) return;
  const retryAfter = Math.max(1, Math.ceil((WINDOW_MS - (now.getTime() % WINDOW_MS)) / 1000));
  throw new AppError(
    429,
    'Too Many Requests',
    `Too many sign-ups from your network. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
    [],
    { 'Retry-After': String(retryAfter) },
  );
}

/** Whether another sign-up mail may go to `email` this hour (counts it when it may). */
export async function signupMailAllowed(db: Kysely<Database>, email: string, now: Date): Promise<boolean> {
  const { hits } = await hitRateLimit(db, `signup:mail:${email.toLowerCase()}`, WINDOW_MS, now);
  return hits <= MAX_SIGNUP_MAILS_PER_ADDRESS;
}
