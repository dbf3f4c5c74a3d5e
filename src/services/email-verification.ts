import type { Kysely } from 'kysely';
import {
  deleteEmailVerificationsOf,
  deleteExpiredEmailVerifications,
  insertEmailVerification,
  takeEmailVerification,
} from '../db/email-verifications.repository.ts';
import { enqueueMail } from '../db/mail-outbox.repository.ts';
import { hitRateLimit } from '../db/rate-limits.repository.ts';
import type { Database, User } from '../db/types.ts';
import { findUserById, markEmailVerified } from '../db/users.repository.ts';
import { randomToken, sha256Hex } from '../lib/crypto.ts';
import { AppError, conflict } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { emailVerificationMessage } from './mail.ts';

/**
 * Email verification (issue 15 finding 4). A grant by email reaches only an account whose address
 * is verified (services/access.ts); anyone else gets an invitation, which only the mailbox's owner
 * can accept. An address is verified by a mailed link (this file), by accepting an invitation sent
 * to it (services/invitations.ts), or by an identity provider's `email_verified: true`
 * (services/oidc.ts).
 *
 * Links work once, for 24 hours, and only for the address they were sent to; the token is stored
 * as its SHA-256. Opening a link shows a page with a button (a POST confirms), so mail scanners
 * that fetch every link cannot verify an address a squatter registered.
 */
export const VERIFICATION_TTL_MS = 24 * 60 * 60_000;
/** Resends per account per hour (each one is a mail to an address). */
export const MAX_RESENDS_PER_HOUR = 3;
const HOUR_MS = 60 * 60_000;

export function verificationLink(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/$/, '')}/auth/verify-email/${token}`;
}

/**
 * Queues a verification mail for the user's current address, in the caller's transaction (the
 * sign-up or the resend it belongs to). Expired links of everyone are swept here, so the table
 * stays small without a job.
 */
export async function sendVerification(
  db: Kysely<Database>,
  user: Pick<User, 'user_id' | 'email' | 'name'>,
  baseUrl: string,
  now: Date,
): Promise<void> {
  if (!user.email) return;
  const token = randomToken();
  const expiresAt = new Date(now.getTime() + VERIFICATION_TTL_MS);
  await deleteExpiredEmailVerifications(db, now);
  await insertEmailVerification(db, {
    token_hash: await sha256Hex(token),
    user_id: user.user_id,
    email: user.email.toLowerCase(),
    created_at: now,
    expires_at: expiresAt,
  });
  await enqueueMail(
    db,
    emailVerificationMessage({ email: user.email, link: verificationLink(baseUrl, token), expiresAt }),
    now,
  );
}

function tooManyResends(now: Date): AppError {
  const retryAfter = Math.max(1, Math.ceil((HOUR_MS - (now.getTime() % HOUR_MS)) / 1000));
  return new AppError(
    429,
    'Too Many Requests',
    `A verification link was sent ${MAX_RESENDS_PER_HOUR} times this hour; check your inbox (and spam folder), or try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
    [],
    { 'Retry-After': String(retryAfter) },
  );
}

/**
 * Sends a fresh link (account page). At most three an hour per account, counted atomically; an
 * account that is verified already, or has no address, answers 409.
 */
export async function resendVerification(
  db: Kysely<Database>,
  userId: string,
  baseUrl: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  const user = await findUserById(db, userId);
  if (!user?.email) throw conflict('This account has no email address to verify.');
  if (user.email_verified_at) throw conflict('Your email address is verified already.');
  const { hits } = await hitRateLimit(db, `email-verify:${userId}`, HOUR_MS, now);
  if (hits > MAX_RESENDS_PER_HOUR) throw tooManyResends(now);
  await db.transaction().execute(async (trx) => {
    await sendVerification(trx, user, baseUrl, now);
    await recordAudit(
      trx,
      actor,
      {
        action: 'auth.email_verification_sent',
        targetType: 'user',
        targetId: user.user_id,
        orgId: null,
        after: { email: user.email },
      },
      now,
    );
  });
}

const LINK_UNUSABLE =
  'This verification link has expired or was used already. Sign in and send a new one from your account page.';

/** The account a link would verify, without using it up (the confirmation page). */
export async function verificationTarget(
  db: Kysely<Database>,
  token: string,
  now: Date,
): Promise<{ email: string } | null> {
  const row = await db
    .selectFrom('ktrlplane.email_verifications')
    .select(['email', 'expires_at'])
    .where('token_hash', '=', await sha256Hex(token))
    .executeTakeFirst();
  return row && row.expires_at > now ? { email: row.email } : null;
}

/**
 * Uses up a link and verifies the address it was sent to: 400 when the link is unknown, used or
 * expired, or when the account's address has changed since. Every other link of the account ends.
 */
export async function verifyEmail(
  db: Kysely<Database>,
  token: string,
  actor: AuditActor,
  now: Date,
): Promise<User> {
  return db.transaction().execute(async (trx) => {
    const row = await takeEmailVerification(trx, await sha256Hex(token), now);
    if (!row) throw new AppError(400, 'Link not usable', LINK_UNUSABLE);
    const user = await findUserById(trx, row.user_id);
    if (!user?.email || user.email.toLowerCase() !== row.email) {
      throw new AppError(
        400,
        'Link not usable',
        'This link was sent to an address the account no longer has.',
      );
    }
    await deleteEmailVerificationsOf(trx, user.user_id);
    if (user.email_verified_at) return user;
    const verified = await markEmailVerified(trx, user.user_id, now);
    await recordAudit(
      trx,
      { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email },
      {
        action: 'auth.email_verified',
        targetType: 'user',
        targetId: user.user_id,
        orgId: null,
        after: { email: user.email, method: 'link' },
      },
      now,
    );
    return verified;
  });
}
