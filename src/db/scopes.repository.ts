import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

export type TenantScopeType = 'organization' | 'project' | 'resource';

/** Where a scope sits: its organization, and its project and resource when it has them. */
export interface ScopeChain {
  orgId: string;
  projectId: string | null;
  resourceId: string | null;
}

/** Resolves a scope to its chain, or null when it does not exist. */
export async function resolveScopeChain(
  db: Kysely<Database>,
  type: TenantScopeType,
  id: string,
): Promise<ScopeChain | null> {
  switch (type) {
    case 'organization': {
      const row = await db
        .selectFrom('ktrlplane.organizations')
        .select('org_id')
        .where('org_id', '=', id)
        .executeTakeFirst();
      return row ? { orgId: row.org_id, projectId: null, resourceId: null } : null;
    }
    case 'project': {
      const row = await db
        .selectFrom('ktrlplane.projects')
        .select(['org_id', 'project_id'])
        .where('project_id', '=', id)
        .executeTakeFirst();
      return row ? { orgId: row.org_id, projectId: row.project_id, resourceId: null } : null;
    }
    case 'resource': {
      const row = await db
        .selectFrom('ktrlplane.resources as r')
        .innerJoin('ktrlplane.projects as p', 'p.project_id', 'r.project_id')
        .select(['p.org_id', 'r.project_id', 'r.resource_id'])
        .where('r.resource_id', '=', id)
        .executeTakeFirst();
      return row ? { orgId: row.org_id, projectId: row.project_id, resourceId: row.resource_id } : null;
    }
  }
}
