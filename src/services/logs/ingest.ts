import type { Kysely } from 'kysely';
import {
  findActiveIngestToken,
  type IngestCredential,
  recordIngestTokenUse,
} from '../../db/ingest-tokens.repository.ts';
import { insertLogLines, type NewLogLine, resourcesOwnedByProject } from '../../db/logs.repository.ts';
import type { Database, LogLevel } from '../../db/types.ts';
import { sha256Hex } from '../../lib/crypto.ts';
import { AppError } from '../../lib/errors.ts';
import type { BillingPolicy } from '../billing/policy.ts';
import { INGEST_TOKEN_PREFIX } from './ingest-tokens.ts';
import { ensureLogPartitions, forgetLogPartitions, logRetentionDaysOf } from './partitions.ts';

/**
 * Storing shipped log lines (OTLP/HTTP and Loki push decode to `IncomingLogLine`s first).
 *
 * Tenancy contract: the project is the ingest token's; a line is stored only when its resource id
 * names a resource of that project. Every other line (no resource id, another project's resource,
 * an id that does not exist) is refused and counted — in the answer and on the token — and never
 * stored anywhere. Durability: the answer is sent after the transaction that holds the lines has
 * committed, so an acknowledged line survives a crash.
 */

export interface IncomingLogLine {
  resourceId: string | null;
  /** null: the time the line arrived. */
  ts: Date | null;
  level: LogLevel;
  message: string;
  attributes: Record<string, unknown>;
}

export type RejectReason =
  | 'missing_resource_id'
  | 'resource_not_in_project'
  | 'older_than_retention'
  | 'in_the_future';

export interface IngestOutcome {
  accepted: number;
  rejected: number;
  reasons: Partial<Record<RejectReason, number>>;
}

const REASON_TEXT: Record<RejectReason, string> = {
  missing_resource_id: 'had no resource_id',
  resource_not_in_project: "named a resource this token's project does not own",
  older_than_retention: "were older than the project's log retention",
  in_the_future: 'were more than a day in the future',
};

/** One sentence about refused lines, for OTLP's errorMessage and Loki's error body. */
export function describeRejections(outcome: IngestOutcome): string {
  const parts = Object.entries(outcome.reasons).map(
    ([reason, count]) => `${count} ${REASON_TEXT[reason as RejectReason]}`,
  );
  return `${outcome.rejected} of ${outcome.accepted + outcome.rejected} log lines were refused: ${parts.join('; ')}.`;
}

const MAX_MESSAGE_CHARS = 32_768;
const DAY_MS = 86_400_000;

/**
 * The ingest credential of a request: `Authorization: Bearer kpi_…`, or HTTP Basic with the token
 * as the password (Promtail, Grafana Alloy and Fluent Bit's Loki output send basic auth; the user
 * name is ignored). Anything else is a 401.
 */
export async function authenticateIngest(
  db: Kysely<Database>,
  authorization: string | undefined,
): Promise<IngestCredential> {
  let secret: string | undefined;
  const bearer = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  const basic = authorization ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization) : null;
  if (bearer?.[1]) secret = bearer[1];
  else if (basic?.[1]) {
    try {
      const decoded = atob(basic[1]);
      secret = decoded.slice(decoded.indexOf(':') + 1);
    } catch {
      secret = undefined;
    }
  }
  const credential =
    secret?.startsWith(INGEST_TOKEN_PREFIX) === true
      ? await findActiveIngestToken(db, await sha256Hex(secret))
      : undefined;
  if (!credential) {
    throw new AppError(
      401,
      'Unauthorized',
      "Send a project's ingest token (created on the project's settings page) as 'Authorization: Bearer kpi_…' or as the password of HTTP basic auth.",
      [],
      { 'WWW-Authenticate': 'Bearer realm="ktrlplane-ingest", Basic realm="ktrlplane-ingest"' },
    );
  }
  return credential;
}

/** Stores the acceptable lines in one transaction and answers what was accepted and refused. */
export async function ingestLogLines(
  deps: { db: Kysely<Database>; now: Date; policy: BillingPolicy },
  credential: IngestCredential,
  source: 'otlp' | 'loki',
  lines: readonly IncomingLogLine[],
): Promise<IngestOutcome> {
  const { db, now } = deps;
  const outcome: IngestOutcome = { accepted: 0, rejected: 0, reasons: {} };
  const refuse = (reason: RejectReason) => {
    outcome.rejected += 1;
    outcome.reasons[reason] = (outcome.reasons[reason] ?? 0) + 1;
  };
  const named = [...new Set(lines.flatMap((line) => (line.resourceId ? [line.resourceId] : [])))];
  const [owned, retentionDays] = await Promise.all([
    resourcesOwnedByProject(db, credential.project_id, named),
    logRetentionDaysOf(db, { projectId: credential.project_id, orgId: credential.org_id }, deps.policy),
  ]);
  const oldest = now.getTime() - retentionDays * DAY_MS;
  const newest = now.getTime() + DAY_MS;
  const rows: NewLogLine[] = [];
  for (const line of lines) {
    if (!line.resourceId) refuse('missing_resource_id');
    else if (!owned.has(line.resourceId)) refuse('resource_not_in_project');
    else {
      const ts = line.ts ?? now;
      if (ts.getTime() < oldest) refuse('older_than_retention');
      else if (ts.getTime() > newest) refuse('in_the_future');
      else
        rows.push({
          retention_days: retentionDays,
          // Millisecond precision, what a Date holds: cursors built from it round-trip exactly.
          ts: new Date(ts.getTime()),
          received_at: now,
          project_id: credential.project_id,
          resource_id: line.resourceId,
          level: line.level,
          message:
            line.message.length > MAX_MESSAGE_CHARS ? line.message.slice(0, MAX_MESSAGE_CHARS) : line.message,
          attributes: line.attributes,
          source,
        });
    }
  }
  outcome.accepted = rows.length;
  await ensureLogPartitions(db, rows);
  // One statement: the lines and the live tail's notice commit together (see insertLogLines).
  const store = () => insertLogLines(db, rows);
  if (rows.length > 0) {
    try {
      await store();
    } catch (error) {
      // A partition dropped or never made since this process last looked: make it and try once more.
      if (!/no partition of relation/i.test(String((error as Error)?.message))) throw error;
      forgetLogPartitions(db);
      await ensureLogPartitions(db, rows);
      await store();
    }
  }
  // After the commit, in a statement of its own: every batch of a busy shipper updates this one
  // row, and holding its lock for the whole insert would serialise concurrent batches.
  await recordIngestTokenUse(db, credential.token_id, outcome, now);
  return outcome;
}
