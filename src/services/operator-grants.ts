import type { Kysely } from 'kysely';
import { findRole, grantRole, listAllRoles } from '../db/role-assignments.repository.ts';
import { resolveScopeChain, type TenantScopeType } from '../db/scopes.repository.ts';
import type { Database, RoleAssignment } from '../db/types.ts';
import { ensureServiceAccount, findUserById } from '../db/users.repository.ts';
import { notFound, unprocessable } from '../lib/errors.ts';
import type { AuditActor } from './audit.ts';
import { recordAudit } from './audit.ts';

/**
 * Grants made by whoever runs the installation, outside any tenant (`npm run grant-role`): the
 * supported way to give an M2M client a hidden service-account role, which the access pages never
 * offer. The caller has shell access to the installation's configuration, which is the authority;
 * no permission check runs. Each grant is idempotent (granting again refreshes the expiry) and is
 * written together with its audit event, in one transaction.
 */

export type GrantSubject = { kind: 'client'; clientId: string } | { kind: 'user'; userId: string };
export type GrantScope = { type: 'global' } | { type: TenantScopeType; id: string };

export interface OperatorGrant {
  subject: GrantSubject;
  /** A role id or name (e.g. service-account-permission-checker, Konnektr.Data.Owner). */
  role: string;
  scope: GrantScope;
  expiresAt?: Date | null;
}

/** The service account an M2M client's tokens name (Auth0's convention; see services/oidc.ts). */
export function serviceAccountId(clientId: string): string {
  return `${clientId}@clients`;
}

export async function grantRoleAsOperator(
  db: Kysely<Database>,
  grant: OperatorGrant,
  actor: AuditActor,
  now: Date,
): Promise<{ assignment: RoleAssignment; created: boolean; roleName: string }> {
  const role = await findRole(db, grant.role);
  if (!role) {
    const roles = await listAllRoles(db);
    throw unprocessable(
      [
        {
          pointer: '/role',
          message: `no role "${grant.role}"; use one of ${roles.map((r) => `${r.role_id} (${r.name})`).join(', ')}`,
        },
      ],
      `There is no role "${grant.role}".`,
    );
  }
  if (grant.expiresAt && grant.expiresAt.getTime() <= now.getTime()) {
    throw unprocessable([{ pointer: '/expires', message: 'the expiry must be in the future' }]);
  }
  const chain =
    grant.scope.type === 'global' ? null : await resolveScopeChain(db, grant.scope.type, grant.scope.id);
  if (grant.scope.type !== 'global' && !chain) {
    throw notFound(`There is no ${grant.scope.type} "${grant.scope.id}"; check the id after --scope.`);
  }
  const scopeType = grant.scope.type;
  const scopeId = grant.scope.type === 'global' ? 'global' : grant.scope.id;
  return db.transaction().execute(async (trx) => {
    let userId: string;
    if (grant.subject.kind === 'client') {
      userId = serviceAccountId(grant.subject.clientId);
      await ensureServiceAccount(trx, { user_id: userId, name: grant.subject.clientId });
    } else {
      const user = await findUserById(trx, grant.subject.userId);
      if (!user) {
        throw notFound(
          `There is no user "${grant.subject.userId}"; users appear once they have signed in (use --client for an M2M client).`,
        );
      }
      userId = user.user_id;
    }
    const before = await trx
      .selectFrom('ktrlplane.role_assignments')
      .selectAll()
      .where('user_id', '=', userId)
      .where('role_id', '=', role.role_id)
      .where('scope_type', '=', scopeType)
      .where('scope_id', '=', scopeId)
      .executeTakeFirst();
    const assignment = await grantRole(trx, {
      user_id: userId,
      role_id: role.role_id,
      scope_type: scopeType,
      scope_id: scopeId,
      expires_at: grant.expiresAt ?? null,
      created_by: null,
    });
    const summary = (a: RoleAssignment) => ({ user: a.user_id, role: a.role_id, expires_at: a.expires_at });
    await recordAudit(
      trx,
      actor,
      {
        action: 'access.granted',
        targetType: 'role_assignment',
        targetId: assignment.assignment_id,
        orgId: chain?.orgId ?? null,
        before: before ? summary(before) : null,
        after: { ...summary(assignment), scope: `${scopeType}/${scopeId}` },
      },
      now,
    );
    return { assignment, created: !before, roleName: role.name };
  });
}
