import type { Kysely, Selectable, Transaction } from 'kysely';
import { randomToken } from '../lib/crypto.ts';
import { notFound } from '../lib/errors.ts';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, ResourceDraftsTable, WizardBasicsJson } from './types.ts';

export type ResourceDraft = Selectable<ResourceDraftsTable>;

/** How long a draft under review stays usable. */
export const DRAFT_LIFETIME_MS = 24 * 60 * 60 * 1000;

type DraftScope = AuthorizedScope<'project'> | AuthorizedScope<'resource'>;

/** The project a scope is in, and the resource it names (null for a project: a create draft). */
function placeOf(scope: DraftScope): { projectId: string; resourceId: string | null } {
  return scope.type === 'project'
    ? { projectId: scope.id, resourceId: null }
    : { projectId: scope.projectId ?? '', resourceId: scope.id };
}

/**
 * Stores what `userId` filled in, for review. Tenancy: the draft is pinned to the scope's project
 * (and resource), so it can only be read back through the same authorized scope by the same user.
 */
export async function insertDraft(
  db: Kysely<Database>,
  scope: DraftScope,
  userId: string,
  draft: { basics: WizardBasicsJson; settings: Record<string, unknown>; baseGeneration?: number },
  now: Date,
): Promise<string> {
  const place = placeOf(scope);
  const draftId = randomToken(18);
  await db
    .insertInto('ktrlplane.resource_drafts')
    .values({
      draft_id: draftId,
      user_id: userId,
      project_id: place.projectId,
      resource_id: place.resourceId,
      basics: JSON.stringify(draft.basics),
      settings_json: JSON.stringify(draft.settings),
      base_generation: draft.baseGeneration ?? null,
      created_at: now,
      expires_at: new Date(now.getTime() + DRAFT_LIFETIME_MS),
    })
    .execute();
  return draftId;
}

/** The caller's own unexpired draft in this scope; 404 for anyone else's, or one that expired. */
export async function getDraft(
  db: Kysely<Database>,
  scope: DraftScope,
  userId: string,
  draftId: string,
  now: Date,
): Promise<ResourceDraft> {
  const place = placeOf(scope);
  let query = db
    .selectFrom('ktrlplane.resource_drafts')
    .selectAll()
    .where('draft_id', '=', draftId)
    .where('user_id', '=', userId)
    .where('project_id', '=', place.projectId)
    .where('expires_at', '>', now);
  query =
    place.resourceId === null
      ? query.where('resource_id', 'is', null)
      : query.where('resource_id', '=', place.resourceId);
  const draft = await query.executeTakeFirst();
  if (!draft) {
    throw notFound('This review has expired or is not yours. Fill in the settings again to review them.');
  }
  return draft;
}

/**
 * Locks a draft for the rest of the transaction and answers what it already created, if anything:
 * of two clicks on "Create", the second waits for the first and then finds the resource it made.
 */
export async function lockDraft(trx: Transaction<Database>, draftId: string): Promise<string | null> {
  const row = await trx
    .selectFrom('ktrlplane.resource_drafts')
    .select('completed_resource_id')
    .where('draft_id', '=', draftId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return row.completed_resource_id;
}

/** Records, in the transaction that created it, the resource a draft became. */
export async function completeDraft(
  trx: Transaction<Database>,
  draftId: string,
  resourceId: string,
): Promise<void> {
  await trx
    .updateTable('ktrlplane.resource_drafts')
    .set({ completed_resource_id: resourceId })
    .where('draft_id', '=', draftId)
    .execute();
}

export async function deleteDraft(db: Kysely<Database>, draftId: string): Promise<void> {
  await db.deleteFrom('ktrlplane.resource_drafts').where('draft_id', '=', draftId).execute();
}

export async function deleteExpiredDrafts(db: Kysely<Database>, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.resource_drafts')
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
