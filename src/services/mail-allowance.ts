import type { Kysely } from 'kysely';
import { hitRateLimit } from '../db/rate-limits.repository.ts';
import type { ScopeChain } from '../db/scopes.repository.ts';
import type { Database } from '../db/types.ts';
import { AppError } from '../lib/errors.ts';

/**
 * How many mails a tenant may make ktrlplane send to addresses it types (invitations, email alert
 * channels and the alerts they receive) per hour: without a bound, a project is a free relay for
 * mail to anyone, in ktrlplane's name. Counted per project (per organization for what belongs to no
 * project) with the atomic window counter of rate_limits, in the caller's transaction, so the
 * count and the mail commit together.
 */
export const MAIL_WINDOW_MS = 3_600_000;

function bucketOf(scope: ScopeChain): string {
  return scope.projectId ? `mail:project:${scope.projectId}` : `mail:organization:${scope.orgId}`;
}

/** Counts one mail; answers whether it is within `perHour`. */
export async function takeMailAllowance(
  db: Kysely<Database>,
  scope: ScopeChain,
  perHour: number,
  now: Date,
): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
  const { hits, windowStart } = await hitRateLimit(db, bucketOf(scope), MAIL_WINDOW_MS, now);
  const retryAfterSeconds = Math.max(
    1,
    Math.ceil((windowStart.getTime() + MAIL_WINDOW_MS - now.getTime()) / 1000),
  );
  return { allowed: hits <= perHour, retryAfterSeconds };
}

/** Counts one mail, or throws a 429 (with Retry-After) saying what to do when the hour's are used up. */
export async function spendMailAllowance(
  db: Kysely<Database>,
  scope: ScopeChain,
  perHour: number,
  now: Date,
  what: string,
): Promise<void> {
  const { allowed, retryAfterSeconds } = await takeMailAllowance(db, scope, perHour, now);
  if (allowed) return;
  const where = scope.projectId ? 'this project' : 'this organization';
  throw new AppError(
    429,
    'Too Many Requests',
    `${what}: ${where} has sent its ${perHour} emails for this hour. Try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`,
    [],
    { 'Retry-After': String(retryAfterSeconds) },
  );
}
