import type { Kysely } from 'kysely';
import { resourcesOwnedByProject } from '../../db/logs.repository.ts';
import {
  deleteSavedLogSearch,
  findSavedLogSearch,
  insertSavedLogSearch,
  listSavedLogSearches,
  type SavedLogSearch,
  updateSavedLogSearch,
} from '../../db/saved-log-searches.repository.ts';
import type { Database } from '../../db/types.ts';
import { randomSuffix } from '../../lib/crypto.ts';
import { conflict, notFound, unprocessable } from '../../lib/errors.ts';
import type { SavedSearchInput } from '../../schemas/logs.ts';
import type { AuthorizedScope } from '../rbac.ts';
import { parseLogQuery } from './query.ts';

/**
 * Saved log searches of a project (optionally pinned to one of its resources). Reading needs read
 * access on the project, changing them write access (checked by the routes). The query is checked
 * when saved, so a saved search always runs; an unknown or foreign resource id is a 422.
 */

export function isSavedSearchId(value: string): boolean {
  return /^lss-[a-z0-9]{1,40}$/.test(value);
}

async function checked(db: Kysely<Database>, scope: AuthorizedScope<'project'>, input: SavedSearchInput) {
  parseLogQuery(input.query, '/query');
  if (input.resource_id) {
    const owned = await resourcesOwnedByProject(db, scope.id, [input.resource_id]);
    if (!owned.has(input.resource_id))
      throw unprocessable([
        { pointer: '/resource_id', message: 'this project has no resource with this id' },
      ]);
  }
  return {
    name: input.name,
    query: input.query,
    time_range: input.time_range,
    resource_id: input.resource_id ?? null,
  };
}

const nameTaken = (name: string) =>
  conflict(`This project already has a saved search named "${name}"; choose another name.`);
const missing = (id: string) =>
  notFound(`This project has no saved search with the id "${id.slice(0, 80)}".`);

export async function listSavedSearches(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  resourceId?: string,
): Promise<SavedLogSearch[]> {
  return listSavedLogSearches(db, scope, resourceId);
}

export async function getSavedSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
): Promise<SavedLogSearch> {
  const found = isSavedSearchId(searchId) ? await findSavedLogSearch(db, scope, searchId) : undefined;
  if (!found) throw missing(searchId);
  return found;
}

export async function createSavedSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  input: SavedSearchInput,
  createdBy: string | null,
  now: Date,
): Promise<SavedLogSearch> {
  const fields = await checked(db, scope, input);
  const row = await insertSavedLogSearch(db, scope, {
    search_id: `lss-${randomSuffix(12)}`,
    ...fields,
    created_by: createdBy,
    created_at: now,
    updated_at: now,
  });
  if (!row) throw nameTaken(input.name);
  return row;
}

export async function changeSavedSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
  input: SavedSearchInput,
  now: Date,
): Promise<SavedLogSearch> {
  await getSavedSearch(db, scope, searchId);
  const fields = await checked(db, scope, input);
  try {
    const row = await updateSavedLogSearch(db, scope, searchId, { ...fields, updated_at: now });
    if (!row) throw missing(searchId);
    return row;
  } catch (error) {
    if (/unique|duplicate/i.test(String((error as Error)?.message))) throw nameTaken(input.name);
    throw error;
  }
}

export async function removeSavedSearch(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  searchId: string,
): Promise<void> {
  if (!isSavedSearchId(searchId) || !(await deleteSavedLogSearch(db, scope, searchId)))
    throw missing(searchId);
}
