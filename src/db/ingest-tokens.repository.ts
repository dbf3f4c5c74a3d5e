import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, IngestTokensTable } from './types.ts';

/**
 * Ingest tokens of log shippers. Tenancy: management reads and writes only tokens of the
 * authorized project (the scope is the second argument); ingest finds a token by the hash of the
 * presented secret and takes the project from the token row, never from the request.
 */
export type IngestToken = Selectable<IngestTokensTable>;

export async function insertIngestToken(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  token: Omit<IngestToken, 'project_id' | 'accepted_lines' | 'rejected_lines'>,
): Promise<void> {
  await db
    .insertInto('ktrlplane.ingest_tokens')
    .values({ ...token, project_id: scope.id })
    .execute();
}

export async function listIngestTokens(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
): Promise<IngestToken[]> {
  return db
    .selectFrom('ktrlplane.ingest_tokens')
    .selectAll()
    .where('project_id', '=', scope.id)
    .orderBy('created_at', 'desc')
    .orderBy('token_id')
    .execute();
}

export async function findIngestToken(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  tokenId: string,
): Promise<IngestToken | undefined> {
  return db
    .selectFrom('ktrlplane.ingest_tokens')
    .selectAll()
    .where('project_id', '=', scope.id)
    .where('token_id', '=', tokenId)
    .executeTakeFirst();
}

/** Revokes a token of the project; undefined when it is not the project's or already revoked. */
export async function revokeIngestToken(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  tokenId: string,
  now: Date,
): Promise<IngestToken | undefined> {
  return db
    .updateTable('ktrlplane.ingest_tokens')
    .set({ revoked_at: now })
    .where('project_id', '=', scope.id)
    .where('token_id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** What ingest needs of a live token: its id, its project and that project's organization. */
export interface IngestCredential {
  token_id: string;
  project_id: string;
  org_id: string;
}

export async function findActiveIngestToken(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<IngestCredential | undefined> {
  return db
    .selectFrom('ktrlplane.ingest_tokens as t')
    .innerJoin('ktrlplane.projects as p', 'p.project_id', 't.project_id')
    .select(['t.token_id', 't.project_id', 'p.org_id'])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .executeTakeFirst();
}

/** Adds a request's outcome to the token's counters (in the ingest transaction). */
export async function recordIngestTokenUse(
  db: Kysely<Database>,
  tokenId: string,
  counts: { accepted: number; rejected: number },
  now: Date,
): Promise<void> {
  await db
    .updateTable('ktrlplane.ingest_tokens')
    .set({
      last_used_at: now,
      accepted_lines: sql`accepted_lines + ${counts.accepted}`,
      rejected_lines: sql`rejected_lines + ${counts.rejected}`,
    })
    .where('token_id', '=', tokenId)
    .execute();
}
