import { type Kysely, sql } from 'kysely';
import type { Principal } from '../services/principal.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import { tokenScopeOf } from '../services/token-limits.ts';
import { readingAssignments } from './permissions.repository.ts';
import type { Database, Project } from './types.ts';

export interface ProjectSummary extends Project {
  resource_count: number;
  /** Resources by status, e.g. {"Healthy": 2, "Pending": 1}. */
  status_summary: Record<string, number>;
}

function withSummary(db: Kysely<Database>) {
  return db
    .selectFrom('ktrlplane.projects as p')
    .selectAll('p')
    .select([
      sql<number>`(SELECT count(*) FROM ktrlplane.resources r WHERE r.project_id = p.project_id)`.as(
        'resource_count',
      ),
      sql<Record<string, number>>`COALESCE((
        SELECT jsonb_object_agg(status, n) FROM (
          SELECT r.status, count(*) AS n FROM ktrlplane.resources r WHERE r.project_id = p.project_id GROUP BY r.status
        ) s), '{}'::jsonb)`.as('status_summary'),
    ]);
}

function normalise(row: ProjectSummary): ProjectSummary {
  return { ...row, resource_count: Number(row.resource_count) };
}

/** Projects of an organization the caller may read (checked by `scope`). */
export async function listProjectsInOrganization(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
): Promise<ProjectSummary[]> {
  const rows = await withSummary(db).where('p.org_id', '=', scope.orgId).orderBy('p.name').execute();
  return rows.map(normalise);
}

/**
 * Every project the caller may read: those of organizations where they hold a role with `read`,
 * and those where they hold such a role on the project itself; narrowed to a calling token's scope.
 */
export async function listProjectsForUser(
  db: Kysely<Database>,
  principal: Principal,
  now: Date,
): Promise<Array<ProjectSummary & { org_name: string }>> {
  const readable = readingAssignments(db, principal.userId, now);
  const within = tokenScopeOf(principal);
  let query = withSummary(db)
    .innerJoin('ktrlplane.organizations as o', 'o.org_id', 'p.org_id')
    .select('o.name as org_name')
    .where((eb) =>
      eb.or([
        eb('p.org_id', 'in', readable.select('ra.scope_id').where('ra.scope_type', '=', 'organization')),
        eb('p.project_id', 'in', readable.select('ra.scope_id').where('ra.scope_type', '=', 'project')),
      ]),
    );
  if (within.orgId) query = query.where('p.org_id', '=', within.orgId);
  if (within.projectId) query = query.where('p.project_id', '=', within.projectId);
  const rows = await query.orderBy('o.name').orderBy('p.name').execute();
  return rows.map((row) => ({ ...normalise(row), org_name: row.org_name }));
}

export async function projectIdExists(db: Kysely<Database>, projectId: string): Promise<boolean> {
  return Boolean(
    await db
      .selectFrom('ktrlplane.projects')
      .select('project_id')
      .where('project_id', '=', projectId)
      .executeTakeFirst(),
  );
}

export async function insertProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'organization'>,
  project: { project_id: string; name: string; description: string },
  now: Date,
): Promise<Project> {
  return db
    .insertInto('ktrlplane.projects')
    .values({ ...project, org_id: scope.orgId, created_at: now, updated_at: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
): Promise<ProjectSummary> {
  return normalise(await withSummary(db).where('p.project_id', '=', scope.id).executeTakeFirstOrThrow());
}

export async function updateProject(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  changes: { name?: string | undefined; description?: string | undefined },
  now: Date,
): Promise<Project> {
  return db
    .updateTable('ktrlplane.projects')
    .set({ ...changes, updated_at: now })
    .where('project_id', '=', scope.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes the project; its resources and every assignment on them go with it. */
export async function deleteProject(db: Kysely<Database>, scope: AuthorizedScope<'project'>): Promise<void> {
  await db.deleteFrom('ktrlplane.projects').where('project_id', '=', scope.id).execute();
}

/** The name of the project a resource the caller may read belongs to (or of the project itself). */
export async function getProjectName(
  db: Kysely<Database>,
  scope: AuthorizedScope<'resource'> | AuthorizedScope<'project'>,
): Promise<string> {
  const row = await db
    .selectFrom('ktrlplane.projects')
    .select('name')
    .where('project_id', '=', scope.projectId ?? '')
    .executeTakeFirstOrThrow();
  return row.name;
}
