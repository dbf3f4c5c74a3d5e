import type { Kysely } from 'kysely';
import { hitRateLimit, peekRateLimit, resetRateLimit } from '../db/rate-limits.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError } from '../lib/errors.ts';

/**
 * Sign-in throttling, shared by every instance through Postgres: at most 30 attempts per IP and
 * 10 failed attempts per account in 15 minutes. The 429 says when to retry and never whether the
 * account exists (unknown emails are counted like known ones).
 */
const WINDOW_MS = 15 * 60_000;
export const MAX_ATTEMPTS_PER_IP = 30;
export const MAX_FAILURES_PER_ACCOUNT = 10;

const ipBucket = (ip: string) => `login:ip:${ip}`;
const accountBucket = (email: string) => `login:account:${email.toLowerCase()}`;

function tooMany(now: Date): AppError {
  const retryAfter = Math.max(1, Math.ceil((WINDOW_MS - (now.getTime() % WINDOW_MS)) / 1000));
  return new AppError(
    429,
    'Too Many Requests',
    `Too many sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
    [],
    {
      'Retry-After': String(retryAfter),
    },
  );
}

/** Counts an attempt from `ip` and refuses it when the IP or the account is over its limit. */
export async function checkLoginAllowed(
  db: Kysely<Database>,
  ip: string | null,
  email: string,
  now: Date,
): Promise<void> {
  if (ip) {
    const { hits } = await hitRateLimit(db, ipBucket(ip), WINDOW_MS, now);
    if (hits > MAX_ATTEMPTS_PER_IP) throw tooMany(now);
  }
  if ((await peekRateLimit(db, accountBucket(email), WINDOW_MS, now)) >= MAX_FAILURES_PER_ACCOUNT)
    throw tooMany(now);
}

export async function recordLoginFailure(db: Kysely<Database>, email: string, now: Date): Promise<void> {
  await hitRateLimit(db, accountBucket(email), WINDOW_MS, now);
}

export async function recordLoginSuccess(db: Kysely<Database>, email: string): Promise<void> {
  await resetRateLimit(db, accountBucket(email));
}
