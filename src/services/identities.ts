import type { Kysely } from 'kysely';
import type { Database, User } from '../db/types.ts';
import {
  deleteIdentity,
  findIdentity,
  findLinkedUser,
  insertIdentity,
  listIdentitiesOf,
  type UserIdentity,
} from '../db/user-identities.repository.ts';
import { findPasswordHash, findUserById, markEmailVerified } from '../db/users.repository.ts';
import { AppError, conflict, notFound } from '../lib/errors.ts';
import { type AuditActor, recordAudit } from './audit.ts';
import type { OidcIdentity } from './oidc.ts';

/**
 * Identities linked to local accounts (issue 14, "Identities"). In the estate people sign in
 * through the identity provider, whose `sub` is the user id the data plane sends; a local account
 * (`local|…`) can never match it. Linking records the `sub` for the local account in
 * ktrlplane.user_identities; the user id does not change (assignments, audit history and tokens
 * keep pointing at it), and every place a `sub` arrives resolves it through the link: browser
 * sign-in and bearer JWTs (services/oidc.ts) and the data plane's permission check
 * (routes/permissions.tsx).
 */

/** Local accounts carry this prefix; only they can have identities linked. */
export const LOCAL_USER_PREFIX = 'local|';

/** The user id a `sub` (or any user id) stands for: the linked local account's, else itself. */
export async function resolveUserId(db: Kysely<Database>, userId: string): Promise<User | undefined> {
  return (await findLinkedUser(db, userId)) ?? findUserById(db, userId);
}

export function identitiesOf(db: Kysely<Database>, userId: string): Promise<UserIdentity[]> {
  return listIdentitiesOf(db, userId);
}

/**
 * Links the identity that just signed in at the provider to the local account `userId`. Refused
 * (409) when the `sub` is linked to another account, when it already has an account of its own
 * here (its assignments would be stranded), and when the account already has a linked identity.
 * A provider-verified address equal to the account's verifies the account too.
 */
export async function linkIdentity(
  db: Kysely<Database>,
  userId: string,
  identity: OidcIdentity,
  actor: AuditActor,
  now: Date,
): Promise<UserIdentity> {
  if (!userId.startsWith(LOCAL_USER_PREFIX)) {
    throw conflict('Only a local account can have an identity linked; this account already is one.');
  }
  return db.transaction().execute(async (trx) => {
    const user = await findUserById(trx, userId);
    if (!user) throw notFound();
    const existing = await findIdentity(trx, identity.userId);
    if (existing?.user_id === userId) return existing;
    if (existing) {
      throw conflict('This identity is already linked to another account here; unlink it there first.');
    }
    if (await findUserById(trx, identity.userId)) {
      throw conflict(
        'This identity already has its own account here (it signed in before); it cannot be linked to another one.',
      );
    }
    if ((await listIdentitiesOf(trx, userId)).length > 0) {
      throw conflict('This account already has a linked identity; unlink it first.');
    }
    const row: UserIdentity = {
      sub: identity.userId,
      user_id: userId,
      email: identity.email,
      linked_at: now,
    };
    // Two links racing for one `sub`: the primary key lets one through, the other gets the 409.
    if (!(await insertIdentity(trx, row))) {
      throw conflict('This identity is already linked to another account here; unlink it there first.');
    }
    await recordAudit(
      trx,
      actor,
      {
        action: 'auth.identity_linked',
        targetType: 'user',
        targetId: userId,
        orgId: null,
        after: { sub: identity.userId, email: identity.email },
      },
      now,
    );
    const sameAddress = identity.email !== null && identity.email === user.email?.toLowerCase();
    if (identity.emailVerified && sameAddress && user.email_verified_at === null) {
      await markEmailVerified(trx, userId, now);
      await recordAudit(
        trx,
        actor,
        {
          action: 'auth.email_verified',
          targetType: 'user',
          targetId: userId,
          orgId: null,
          after: { email: user.email, method: 'oidc' },
        },
        now,
      );
    }
    return row;
  });
}

/**
 * Unlinks an identity from the account. Allowed while the account has a password, so it can still
 * sign in afterwards; an unknown `sub` (or one linked to someone else) answers 404.
 */
export async function unlinkIdentity(
  db: Kysely<Database>,
  userId: string,
  sub: string,
  actor: AuditActor,
  now: Date,
): Promise<void> {
  if (!(await findPasswordHash(db, userId))) {
    throw new AppError(
      409,
      'Conflict',
      'This account has no password; unlinking its identity would leave no way to sign in.',
    );
  }
  await db.transaction().execute(async (trx) => {
    const removed = await deleteIdentity(trx, userId, sub);
    if (!removed) throw notFound('No identity with this id is linked to your account.');
    await recordAudit(
      trx,
      actor,
      {
        action: 'auth.identity_unlinked',
        targetType: 'user',
        targetId: userId,
        orgId: null,
        before: { sub: removed.sub, email: removed.email },
        after: null,
      },
      now,
    );
  });
}
