import type { Kysely } from 'kysely';
import {
  findIngestToken,
  type IngestToken,
  insertIngestToken,
  listIngestTokens,
  revokeIngestToken,
} from '../../db/ingest-tokens.repository.ts';
import type { Database } from '../../db/types.ts';
import { newBearerSecret, randomSuffix } from '../../lib/crypto.ts';
import { notFound } from '../../lib/errors.ts';
import { type AuditActor, recordAudit } from '../audit.ts';
import type { AuthorizedScope } from '../rbac.ts';

/**
 * Per-project ingest tokens for log shippers (OTLP/HTTP, Loki push). Credential contract, as for
 * API tokens (services/api-tokens.ts): the secret (`kpi_` + 32 random bytes) exists only in the
 * answer to the request that created it; the database keeps its SHA-256; neither appears in a
 * list, an audit event or a log line. A token may write lines only for resources of its project.
 * Tenancy: every function takes the authorized project scope (write access to manage tokens).
 */

export const INGEST_TOKEN_PREFIX = 'kpi_';

export interface IngestTokenJson {
  token_id: string;
  project_id: string;
  name: string;
  status: 'active' | 'revoked';
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  accepted_lines: number;
  rejected_lines: number;
}

export interface CreatedIngestTokenJson extends IngestTokenJson {
  /** Shown once. */
  token: string;
}

export function ingestTokenJson(token: IngestToken): IngestTokenJson {
  return {
    token_id: token.token_id,
    project_id: token.project_id,
    name: token.name,
    status: token.revoked_at ? 'revoked' : 'active',
    created_at: token.created_at,
    last_used_at: token.last_used_at,
    revoked_at: token.revoked_at,
    accepted_lines: Number(token.accepted_lines),
    rejected_lines: Number(token.rejected_lines),
  };
}

export function isIngestTokenId(value: string): boolean {
  return /^itk-[a-z0-9]{1,64}$/.test(value);
}

export async function createIngestToken(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  input: { name: string },
  actor: AuditActor,
  now: Date,
): Promise<CreatedIngestTokenJson> {
  const { secret, hash } = await newBearerSecret(INGEST_TOKEN_PREFIX);
  const row = {
    token_id: `itk-${randomSuffix(16)}`,
    token_hash: hash,
    name: input.name,
    created_by: actor.actorId,
    created_at: now,
    last_used_at: null,
    revoked_at: null,
  };
  await db.transaction().execute(async (trx) => {
    await insertIngestToken(trx, scope, row);
    await recordAudit(
      trx,
      actor,
      {
        action: 'ingest_token.created',
        targetType: 'ingest_token',
        targetId: row.token_id,
        orgId: scope.orgId,
        after: { name: row.name, project_id: scope.id },
      },
      now,
    );
  });
  return {
    ...ingestTokenJson({ ...row, project_id: scope.id, accepted_lines: 0, rejected_lines: 0 }),
    token: secret,
  };
}

export async function listIngestTokensOf(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
): Promise<IngestTokenJson[]> {
  return (await listIngestTokens(db, scope)).map(ingestTokenJson);
}

/** Revokes a token of the project (idempotent); another project's or an unknown id is a 404. */
export async function revokeIngestTokenOf(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  tokenId: string,
  actor: AuditActor,
  now: Date,
): Promise<IngestTokenJson> {
  const missing = () => notFound(`This project has no ingest token with the id "${tokenId.slice(0, 80)}".`);
  if (!isIngestTokenId(tokenId)) throw missing();
  const target = await findIngestToken(db, scope, tokenId);
  if (!target) throw missing();
  if (target.revoked_at) return ingestTokenJson(target);
  const revoked = await db.transaction().execute(async (trx) => {
    const row = await revokeIngestToken(trx, scope, tokenId, now);
    if (!row) return undefined;
    await recordAudit(
      trx,
      actor,
      {
        action: 'ingest_token.revoked',
        targetType: 'ingest_token',
        targetId: tokenId,
        orgId: scope.orgId,
        before: { name: target.name, revoked_at: null },
        after: { name: target.name, revoked_at: now.toISOString() },
      },
      now,
    );
    return row;
  });
  return ingestTokenJson(revoked ?? { ...target, revoked_at: now });
}
