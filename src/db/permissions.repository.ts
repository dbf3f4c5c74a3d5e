import type { Kysely } from 'kysely';
import type { ScopeChain } from './scopes.repository.ts';
import type { Database } from './types.ts';

/**
 * The actions a user holds on a scope: the union of every unexpired assignment on the scope itself,
 * on the scopes above it (organization → project → resource) and at `global`.
 */
export async function actionsForUser(
  db: Kysely<Database>,
  userId: string,
  chain: ScopeChain | 'global',
  now: Date,
): Promise<string[]> {
  const rows = await db
    .selectFrom('ktrlplane.role_assignments as ra')
    .innerJoin('ktrlplane.role_permissions as rp', 'rp.role_id', 'ra.role_id')
    .innerJoin('ktrlplane.permissions as p', 'p.permission_id', 'rp.permission_id')
    .select('p.action')
    .distinct()
    .where('ra.user_id', '=', userId)
    .where((eb) => eb.or([eb('ra.expires_at', 'is', null), eb('ra.expires_at', '>', now)]))
    .where((eb) => {
      const scopes = [eb.and([eb('ra.scope_type', '=', 'global'), eb('ra.scope_id', '=', 'global')])];
      if (chain !== 'global') {
        scopes.push(eb.and([eb('ra.scope_type', '=', 'organization'), eb('ra.scope_id', '=', chain.orgId)]));
        if (chain.projectId)
          scopes.push(eb.and([eb('ra.scope_type', '=', 'project'), eb('ra.scope_id', '=', chain.projectId)]));
        if (chain.resourceId)
          scopes.push(
            eb.and([eb('ra.scope_type', '=', 'resource'), eb('ra.scope_id', '=', chain.resourceId)]),
          );
      }
      return eb.or(scopes);
    })
    .execute();
  return rows.map((row) => row.action).sort();
}
