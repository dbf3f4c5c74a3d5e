import type { Kysely } from 'kysely';
import { clearPair, type PairPolicy, recordPairAttempt } from '../db/login-throttle.repository.ts';
import { hitRateLimit, releaseRateLimitHit } from '../db/rate-limits.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError } from '../lib/errors.ts';

/**
 * Sign-in throttling, shared by every instance through Postgres. Three counters, each counted
 * before it is checked (one atomic upsert each), so parallel attempts cannot exceed a limit:
 *
 * - per (account, address): PAIR.free attempts, then each further one waits a delay that doubles
 *   from 30 s up to 15 min (429 with Retry-After). A success clears the pair. A guesser on one
 *   address is slowed to a few attempts an hour; nobody else is affected — the owner signs in from
 *   their own address as usual. No hard lock: nothing an attacker does locks the owner out.
 * - per address, across accounts: at most MAX_FAILURES_PER_IP failed (or pending) attempts in
 *   15 minutes, against one address trying many accounts.
 * - per account, across addresses: at most ACCOUNT_CEILING failed (or pending) attempts an hour.
 *   Past it (a guesser spread over many addresses) an address that has failed on this account
 *   recently gets no further attempt until the hour turns, while an address with no recent
 *   failures on it still gets its attempts — so the owner with the right password still gets in,
 *   and the guesser gets at most one guess per address an hour.
 *
 * A success gives back its own hit in the address and account counters. Unknown emails are
 * counted like known ones, and every refusal reads the same, so the 429 says nothing about whether
 * an account exists. IPv6 addresses are counted by their /64, which one subscriber usually holds
 * whole. Without a known address (no peer address and no trusted proxy) the pair is keyed by the
 * account alone.
 */
export const PAIR: PairPolicy = {
  free: 5,
  baseMs: 30_000,
  capMs: 15 * 60_000,
  memoryMs: 24 * 60 * 60_000,
};
const IP_WINDOW_MS = 15 * 60_000;
export const MAX_FAILURES_PER_IP = 30;
const ACCOUNT_WINDOW_MS = 60 * 60_000;
export const ACCOUNT_CEILING = 50;

/** What a sign-in counted, to take back when it succeeds. */
export interface LoginAttempt {
  pairBucket: string;
  ipHit: { bucket: string; windowStart: Date } | null;
  accountHit: { bucket: string; windowStart: Date };
}

/** The part of an address a throttle counts: an IPv4 address whole, IPv6 by its /64. */
export function throttleKeyOf(ip: string): string {
  const address = ip.trim().toLowerCase();
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

const account = (email: string) => email.trim().toLowerCase();

function tooMany(retryAfterMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const wait = seconds < 60 ? `${seconds} second(s)` : `${Math.ceil(seconds / 60)} minute(s)`;
  return new AppError(429, 'Too Many Requests', `Too many sign-in attempts. Try again in ${wait}.`, [], {
    'Retry-After': String(seconds),
  });
}

const windowEnd = (windowStart: Date, windowMs: number, now: Date) =>
  windowStart.getTime() + windowMs - now.getTime();

/**
 * Counts a sign-in attempt for `email` from `ip` and refuses it (429) when a limit is reached.
 * Call before checking the password; pass the answer to `recordLoginSuccess` when it was right.
 */
export async function checkLoginAllowed(
  db: Kysely<Database>,
  ip: string | null,
  email: string,
  now: Date,
): Promise<LoginAttempt> {
  const key = ip ? throttleKeyOf(ip) : null;
  let ipHit: LoginAttempt['ipHit'] = null;
  if (key) {
    const bucket = `login:ip:${key}`;
    const { hits, windowStart } = await hitRateLimit(db, bucket, IP_WINDOW_MS, now);
    if (hits > MAX_FAILURES_PER_IP) throw tooMany(windowEnd(windowStart, IP_WINDOW_MS, now));
    ipHit = { bucket, windowStart };
  }
  const pairBucket = `login:pair:${account(email)}|${key ?? 'unknown'}`;
  const pair = await recordPairAttempt(db, pairBucket, PAIR, now);
  if (!pair.admitted) throw tooMany((pair.blockedUntil?.getTime() ?? now.getTime()) - now.getTime());
  const accountBucket = `login:account:${account(email)}`;
  const { hits, windowStart } = await hitRateLimit(db, accountBucket, ACCOUNT_WINDOW_MS, now);
  // Over the ceiling only an address with no recent failure on this account gets through.
  if (hits > ACCOUNT_CEILING && pair.attempts > 1) {
    throw tooMany(windowEnd(windowStart, ACCOUNT_WINDOW_MS, now));
  }
  return { pairBucket, ipHit, accountHit: { bucket: accountBucket, windowStart } };
}

/** A right password: the pair starts over, and the attempt is no longer counted as a guess. */
export async function recordLoginSuccess(db: Kysely<Database>, attempt: LoginAttempt): Promise<void> {
  await clearPair(db, attempt.pairBucket);
  if (attempt.ipHit) await releaseRateLimitHit(db, attempt.ipHit.bucket, attempt.ipHit.windowStart);
  await releaseRateLimitHit(db, attempt.accountHit.bucket, attempt.accountHit.windowStart);
}
