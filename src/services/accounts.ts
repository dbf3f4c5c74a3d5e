import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { deleteSessionsOfUser } from '../db/sessions.repository.ts';
import type { Database, User } from '../db/types.ts';
import { createUser, findPasswordHash, findUserByEmail, setPasswordHash } from '../db/users.repository.ts';
import type { Clock } from '../lib/clock.ts';
import { randomToken } from '../lib/crypto.ts';
import { AppError, conflict } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import { type AcceptedInvitation, acceptInvitation } from './invitations.ts';
import { checkLoginAllowed, recordLoginSuccess } from './login-throttle.ts';
import {
  dummyHash,
  hashPassword,
  iterationsOf,
  passwordIterationsFor,
  type Runtime,
  verifyPassword,
} from './passwords.ts';

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
 * Creates a local account. Sign-up mode decides who may: `open` anyone, `invite` only with a valid
 * invitation for the same email, `disabled` nobody (OIDC only). The account, its password hash, the
 * accepted invitation and the audit event commit together.
 */
export async function signUp(
  deps: AccountDeps,
  input: { email: string; name: string; password: string; invitation?: string | undefined },
  actor: AuditActor,
): Promise<{ user: User; accepted: AcceptedInvitation | null }> {
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
  const passwordHash = await hashPassword(input.password, targetIterations(deps));
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    if (await findUserByEmail(trx, input.email))
      throw conflict('An account with this email already exists; sign in instead.');
    const user = await createUser(trx, {
      user_id: `local|${randomToken(12)}`,
      email: input.email,
      name: input.name,
    });
    await setPasswordHash(trx, user.user_id, passwordHash, now);
    await recordAudit(
      trx,
      { ...actor, actorType: 'user', actorId: user.user_id, actorLabel: user.email },
      {
        action: 'auth.signup',
        targetType: 'user',
        targetId: user.user_id,
        orgId: null,
        after: { email: user.email, name: user.name },
      },
      now,
    );
    const accepted = input.invitation
      ? await acceptInvitation(trx, input.invitation, user, actor, now)
      : null;
    if (mode === 'invite' && !accepted) {
      throw new AppError(
        403,
        'Forbidden',
        'This invitation is not valid for this email (used, revoked, expired, or sent to another address).',
      );
    }
    return { user, accepted };
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
