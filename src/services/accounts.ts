import { type Kysely, sql } from 'kysely';
import type { Config } from '../config.ts';
import { findPendingInvitationByToken } from '../db/invitations.repository.ts';
import { enqueueMail } from '../db/mail-outbox.repository.ts';
import { deleteSessionsOfUser } from '../db/sessions.repository.ts';
import type { Database, User } from '../db/types.ts';
import {
  createUser,
  findPasswordHash,
  findUserByEmail,
  findUserById,
  setPasswordHash,
} from '../db/users.repository.ts';
import type { Clock } from '../lib/clock.ts';
import { randomToken, sha256Hex } from '../lib/crypto.ts';
import { AppError, conflict } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { sendVerification } from './email-verification.ts';
import { type AcceptedInvitation, acceptInvitation } from './invitations.ts';
import { checkLoginAllowed, recordLoginSuccess } from './login-throttle.ts';
import { signupAttemptMessage } from './mail.ts';
import {
  dummyHash,
  hashPassword,
  iterationsOf,
  passwordIterationsFor,
  type Runtime,
  verifyPassword,
} from './passwords.ts';
import { checkSignupAllowed, signupMailAllowed } from './signup-throttle.ts';

interface AccountDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  runtime: Runtime;
}

/** Said for every failed sign-in, whether or not the email exists. */
export const BAD_CREDENTIALS = 'The email or password is not right.';

function targetIterations(deps: AccountDeps): number {
  return passwordIterationsFor(deps.runtime, deps.config.PASSWORD_ITERATIONS);
}

/**
 * What a sign-up answers. `check_email` is the same for a free and a taken address (issue 15
 * finding 8: no enumeration): a free one got an unverified account and a verification link, a
 * taken one a mail telling its owner. `invited` signs in at once: the invitation, sent to this
 * address, shows the person owns it (it verifies the address, and the 409 for a taken address
 * tells only the mailbox's owner what they know).
 */
export type SignUpOutcome =
  | { kind: 'check_email' }
  | { kind: 'invited'; user: User; accepted: AcceptedInvitation };

/**
 * Creates a local account. Sign-up mode decides who may: `open` anyone, `invite` only with a valid
 * invitation for the same email, `disabled` nobody (OIDC only). Rate-limited per client IP before
 * the password is hashed. The account, its password hash, the accepted invitation (or the
 * verification mail) and the audit event commit together.
 */
export async function signUp(
  deps: AccountDeps,
  input: { email: string; name: string; password: string; invitation?: string | undefined },
  actor: AuditActor,
): Promise<SignUpOutcome> {
  const mode = deps.config.SIGNUP_MODE;
  if (mode === 'disabled')
    throw new AppError(
      403,
      'Forbidden',
      'Sign-up is disabled here; sign in with your organization’s identity provider.',
    );
  if (mode === 'invite' && !input.invitation)
    throw new AppError(
      403,
      'Forbidden',
      'Sign-up needs an invitation here; open the link from your invitation email.',
    );
  const now = deps.clock.now();
  await checkSignupAllowed(deps.db, actor.ip, now);
  // Hashed whether or not the address is free, so both answers take the same time.
  const passwordHash = await hashPassword(input.password, targetIterations(deps));
  const invitation = input.invitation
    ? await findPendingInvitationByToken(deps.db, await sha256Hex(input.invitation), now)
    : undefined;
  const invited = invitation !== undefined && invitation.email.toLowerCase() === input.email.toLowerCase();
  if (mode === 'invite' && !invited) {
    throw new AppError(
      403,
      'Forbidden',
      'This invitation is not valid for this email (used, revoked, expired, or sent to another address).',
    );
  }
  const holder = await findUserByEmail(deps.db, input.email);
  if (holder) {
    if (invited) throw conflict('An account with this email already exists; sign in instead.');
    if (await signupMailAllowed(deps.db, input.email, now)) {
      await deps.db.transaction().execute(async (trx) => {
        await enqueueMail(
          trx,
          signupAttemptMessage({
            email: holder.email ?? input.email,
            signInLink: `${deps.config.BASE_URL.replace(/\/$/, '')}/auth/login`,
          }),
          now,
        );
        await recordAudit(
          trx,
          actor,
          {
            action: 'auth.signup_existing',
            targetType: 'user',
            targetId: holder.user_id,
            orgId: null,
            after: { email: input.email },
          },
          now,
        );
      });
    }
    return { kind: 'check_email' };
  }
  return deps.db.transaction().execute(async (trx): Promise<SignUpOutcome> => {
    // Two sign-ups racing for one address: checked again under the lock createUser takes, so the
    // second one answers like any taken address instead of failing on the unique index.
    await sql`LOCK TABLE ktrlplane.users IN SHARE ROW EXCLUSIVE MODE`.execute(trx);
    if (await findUserByEmail(trx, input.email)) return { kind: 'check_email' };
    const created = await createUser(trx, {
      user_id: `local|${randomToken(12)}`,
      email: input.email,
      name: input.name,
    });
    await setPasswordHash(trx, created.user_id, passwordHash, now);
    await recordAudit(
      trx,
      { ...actor, actorType: 'user', actorId: created.user_id, actorLabel: created.email },
      {
        action: 'auth.signup',
        targetType: 'user',
        targetId: created.user_id,
        orgId: null,
        after: { email: created.email, name: created.name },
      },
      now,
    );
    if (invited && input.invitation) {
      const accepted = await acceptInvitation(trx, input.invitation, created, actor, now);
      if (!accepted) throw new Error('the invitation checked a moment ago could not be accepted');
      const user = (await findUserById(trx, created.user_id)) ?? created;
      return { kind: 'invited', user, accepted };
    }
    await sendVerification(trx, created, deps.config.BASE_URL, now);
    return { kind: 'check_email' };
  });
}

/**
 * Checks an email and password. Throttled per IP and per account; an unknown email costs the same
 * hashing time as a known one and gets the same message. A hash weaker than the running target is
 * upgraded here, while the password is at hand.
 */
export async function signIn(
  deps: AccountDeps,
  input: { email: string; password: string },
  actor: AuditActor,
): Promise<User> {
  const now = deps.clock.now();
  const attempt = await checkLoginAllowed(deps.db, actor.ip, input.email, now);
  const user = await findUserByEmail(deps.db, input.email);
  const stored = user ? await findPasswordHash(deps.db, user.user_id) : undefined;
  const ok = await verifyPassword(input.password, stored ?? (await dummyHash(targetIterations(deps))));
  if (!user || !stored || !ok) {
    await recordAudit(
      deps.db,
      actor,
      {
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: user?.user_id ?? null,
        orgId: null,
        after: { email: input.email },
      },
      now,
    );
    throw new AppError(401, 'Unauthorized', BAD_CREDENTIALS);
  }
  await recordLoginSuccess(deps.db, attempt);
  if (iterationsOf(stored) < targetIterations(deps)) {
    await setPasswordHash(
      deps.db,
      user.user_id,
      await hashPassword(input.password, targetIterations(deps)),
      now,
    );
  }
  return user;
}

/** Changes a password after checking the current one, and signs out every other session. */
export async function changePassword(
  deps: AccountDeps,
  user: { userId: string; sessionHash?: string | undefined },
  input: { current_password: string; new_password: string },
  actor: AuditActor,
): Promise<void> {
  const stored = await findPasswordHash(deps.db, user.userId);
  if (!stored)
    throw new AppError(
      409,
      'Conflict',
      'This account signs in through an identity provider and has no password here.',
    );
  if (!(await verifyPassword(input.current_password, stored))) {
    throw new AppError(422, 'Unprocessable Content', 'The current password is not right.', [
      { pointer: '/current_password', message: 'the current password is not right' },
    ]);
  }
  const passwordHash = await hashPassword(input.new_password, targetIterations(deps));
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await setPasswordHash(trx, user.userId, passwordHash, now);
    await deleteSessionsOfUser(trx, user.userId, user.sessionHash);
    await recordAudit(
      trx,
      actor,
      {
        action: 'auth.password_changed',
        targetType: 'user',
        targetId: user.userId,
        orgId: null,
        before: { password: 'old' },
        after: { password: 'new' },
      },
      now,
    );
  });
}
