import type { Kysely, Selectable } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, SavedLogSearchesTable } from './types.ts';

/** Saved log searches of a project. Tenancy: every function is confined to the authorized project. */
export type SavedLogSearch = Selectable<SavedLogSearchesTable>;

export async function listSavedLogSearches(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  resourceId?: string,
): Promise<SavedLogSearch[]> {
  let query = db.selectFrom('ktrlplane.saved_log_searches').selectAll().where('project_id', '=', scope.id);
  if (resourceId !== undefined)
    query = query.where((eb) => eb.or([eb('resource_id', 'is', null), eb('resource_id', '=', resourceId)]));
  return query.orderBy('name').execute();
}

export async function findSavedLogSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
): Promise<SavedLogSearch | undefined> {
  return db
    .selectFrom('ktrlplane.saved_log_searches')
    .selectAll()
    .where('project_id', '=', scope.id)
    .where('search_id', '=', searchId)
    .executeTakeFirst();
}

/** Inserts; undefined when the project already has a search of that name. */
export async function insertSavedLogSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  row: Omit<SavedLogSearch, 'project_id'>,
): Promise<SavedLogSearch | undefined> {
  return db
    .insertInto('ktrlplane.saved_log_searches')
    .values({ ...row, project_id: scope.id })
    .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updateSavedLogSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
  changes: Pick<SavedLogSearch, 'name' | 'query' | 'time_range' | 'resource_id' | 'updated_at'>,
): Promise<SavedLogSearch | undefined> {
  return db
    .updateTable('ktrlplane.saved_log_searches')
    .set(changes)
    .where('project_id', '=', scope.id)
    .where('search_id', '=', searchId)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteSavedLogSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('ktrlplane.saved_log_searches')
    .where('project_id', '=', scope.id)
    .where('search_id', '=', searchId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
