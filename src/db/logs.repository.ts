import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { AuthorizedScope } from '../services/rbac.ts';
import type { Database, LogLevel } from './types.ts';

/**
 * Log lines (ktrlplane.logs, partitioned by retention class and day: migration 0011) and the
 * timeline that merges them with status transitions (ktrlplane.resource_deployments) at query
 * time. Tenancy: every read takes an AuthorizedScope (a project, or a resource inside one) and
 * filters on its project id; ingest writes rows whose project id is the ingest token's and whose
 * resource the caller has checked belongs to that project.
 */

export interface NewLogLine {
  retention_days: number;
  ts: Date;
  received_at: Date;
  project_id: string;
  resource_id: string;
  level: LogLevel;
  message: string;
  attributes: Record<string, unknown>;
  source: 'otlp' | 'loki';
}

/** One line of the timeline: a stored log line or a status transition. */
export interface TimelineEntry {
  kind: 'log' | 'status';
  id: number;
  ts: Date;
  resource_id: string;
  level: LogLevel;
  message: string;
  attributes: Record<string, unknown>;
}

/** Where a page starts: the entry it continues after, in timeline order (ts, kind, id). */
export interface TimelinePosition {
  ts: Date;
  /** 0 = status, 1 = log: at the same millisecond a log line sorts after a status change. */
  rank: 0 | 1;
  id: number;
}

export type LogScope = AuthorizedScope<'project'> | AuthorizedScope<'resource'>;

function projectIdOf(scope: LogScope): string {
  // A resource scope's chain carries its project; a project scope is its own id.
  return scope.type === 'project' ? scope.id : (scope.projectId as string);
}

/** `\u0000` in JSON text, not preceded by an escaped backslash (`\\u0000` is the text "\u0000"). */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * Inserts lines in one statement (a JSON array unpacked by jsonb_to_recordset: one bind parameter
 * whatever the batch size, and the same on pg and PGlite), which also NOTIFYs 'ktrlplane_logs'
 * once per project with the id and time range of its new rows (what the live tail reads back).
 * One statement is one transaction: the rows and the notice commit together, and a caller that
 * got the answer knows both are durable. Answers the range of ids given, or null for no lines.
 */
export async function insertLogLines(
  db: Kysely<Database>,
  lines: readonly NewLogLine[],
): Promise<{ firstId: number; lastId: number } | null> {
  if (lines.length === 0) return null;
  // Times as epoch milliseconds: serialising a Date (toJSON) costs several times the rest of a row.
  const payload = JSON.stringify(
    lines.map((line) => ({
      d: line.retention_days,
      t: line.ts.getTime(),
      w: line.received_at.getTime(),
      p: line.project_id,
      r: line.resource_id,
      l: line.level,
      m: line.message,
      a: line.attributes,
      s: line.source,
    })),
    // Postgres text and jsonb cannot hold NUL (a shipper may send one): it becomes U+FFFD.
  ).replace(ESCAPED_NUL, '$1\\ufffd');
  const { rows } = await sql<{ first_id: number; last_id: number }>`
    WITH inserted AS (
      INSERT INTO ktrlplane.logs
        (retention_days, ts, received_at, project_id, resource_id, level, message, attributes, source)
      SELECT r.d, timestamptz 'epoch' + r.t * interval '1 millisecond',
             timestamptz 'epoch' + r.w * interval '1 millisecond', r.p, r.r, r.l, r.m, r.a, r.s
        FROM jsonb_to_recordset(${payload}::jsonb) AS r(
          d integer, t bigint, w bigint, p text, r text, l text, m text, a jsonb, s text)
      RETURNING log_id, ts, project_id),
    batches AS (
      SELECT project_id, min(log_id) AS first_id, max(log_id) AS last_id,
             min(ts) AS from_ts, max(ts) AS to_ts
        FROM inserted GROUP BY project_id)
    SELECT first_id, last_id,
           pg_notify('ktrlplane_logs', json_build_object(
             'p', project_id, 'a', first_id, 'b', last_id,
             'f', to_char(from_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             't', to_char(to_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text)
      FROM batches`.execute(db);
  if (rows.length === 0) return null;
  return {
    firstId: Math.min(...rows.map((row) => Number(row.first_id))),
    lastId: Math.max(...rows.map((row) => Number(row.last_id))),
  };
}

/** Same rows as a plain multi-row VALUES insert (the benchmark's baseline). */
export async function insertLogLinesAsValues(
  db: Kysely<Database>,
  lines: readonly NewLogLine[],
): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('ktrlplane.logs')
    .values(lines.map((line) => ({ ...line, attributes: JSON.stringify(line.attributes) })))
    .execute();
}

/** Resources of `projectId` among `resourceIds` (ingest: lines for any other id are refused). */
export async function resourcesOwnedByProject(
  db: Kysely<Database>,
  projectId: string,
  resourceIds: readonly string[],
): Promise<Set<string>> {
  if (resourceIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('ktrlplane.resources')
    .select('resource_id')
    .where('project_id', '=', projectId)
    .where('resource_id', 'in', resourceIds)
    .execute();
  return new Set(rows.map((row) => row.resource_id));
}

const STATUS_LEVEL = sql<LogLevel>`CASE WHEN d.status IN ('Error', 'Failed') THEN 'error'
  WHEN d.status IN ('Degraded', 'Missing', 'Unknown') THEN 'warn' ELSE 'info' END`;

/** Status transitions shaped like log lines (the timeline's second source). */
function statusEvents(projectId: string, resourceId: string | null, from: Date, to: Date) {
  return sql`(SELECT d.event_id AS id, date_trunc('milliseconds', d.at) AS ts, d.resource_id,
            ${STATUS_LEVEL} AS level,
            'Status changed to ' || d.status || coalesce(': ' || d.message, '') AS message,
            jsonb_build_object('status', d.status, 'generation', d.generation,
                               'deployment_state', d.deployment_state) AS attributes
       FROM ktrlplane.resource_deployments d
      WHERE d.project_id = ${projectId}
        ${resourceId === null ? sql`` : sql`AND d.resource_id = ${resourceId}`}
        AND d.at >= ${from} AND d.at < ${to})`;
}

export interface TimelineQuery {
  from: Date;
  to: Date;
  /** Condition over ktrlplane.logs aliased `l`. */
  logCondition: RawBuilder<boolean>;
  /** The same condition over the status events aliased `s` (null: leave status changes out). */
  statusCondition: RawBuilder<boolean> | null;
  limit: number;
  /** Continue after this entry (exclusive, or inclusive when `inclusive`). */
  position?: TimelinePosition | undefined;
  inclusive?: boolean;
  /** newest first (search) or oldest first (context after a line). */
  direction: 'older' | 'newer';
}

/** One page of the timeline of a project or resource. */
export async function readTimeline(
  db: Kysely<Database>,
  scope: LogScope,
  query: TimelineQuery,
): Promise<TimelineEntry[]> {
  const projectId = projectIdOf(scope);
  const resourceId = scope.type === 'resource' ? scope.id : null;
  const older = query.direction === 'older';
  const cmp = older ? (query.inclusive ? sql`<=` : sql`<`) : query.inclusive ? sql`>=` : sql`>`;
  const bound = older ? sql`<=` : sql`>=`;
  const order = older ? sql`DESC` : sql`ASC`;
  const position = query.position;
  const logAfter = position
    ? sql`AND l.ts ${bound} ${position.ts} AND (l.ts, 1, l.log_id) ${cmp} (${position.ts}::timestamptz, ${position.rank}::int, ${position.id}::bigint)`
    : sql``;
  const statusAfter = position
    ? sql`AND (s.ts, 0, s.id) ${cmp} (${position.ts}::timestamptz, ${position.rank}::int, ${position.id}::bigint)`
    : sql``;
  const logs = sql`(SELECT 'log' AS kind, 1 AS rank, l.log_id AS id, l.ts, l.resource_id, l.level, l.message, l.attributes
       FROM ktrlplane.logs l
      WHERE l.project_id = ${projectId}
        ${resourceId === null ? sql`` : sql`AND l.resource_id = ${resourceId}`}
        AND l.ts >= ${query.from} AND l.ts < ${query.to}
        AND ${query.logCondition} ${logAfter}
      ORDER BY l.ts ${order}, l.log_id ${order}
      LIMIT ${query.limit})`;
  const statuses = query.statusCondition
    ? sql`UNION ALL (SELECT 'status' AS kind, 0 AS rank, s.id, s.ts, s.resource_id, s.level, s.message, s.attributes
       FROM ${statusEvents(projectId, resourceId, query.from, query.to)} s
      WHERE ${query.statusCondition} ${statusAfter}
      ORDER BY s.ts ${order}, s.id ${order}
      LIMIT ${query.limit})`
    : sql``;
  const { rows } = await sql<TimelineEntry>`
    SELECT kind, id, ts, resource_id, level, message, attributes
      FROM (${logs} ${statuses}) t
     ORDER BY ts ${order}, rank ${order}, id ${order}
     LIMIT ${query.limit}`.execute(db);
  return rows;
}

/** Matching log lines per bucket (or in all, as one row at `from`), for countLogLines. */
export async function countLogs(
  db: Kysely<Database>,
  scope: AuthorizedScope<'project'>,
  query: {
    resourceId?: string | undefined;
    from: Date;
    to: Date;
    condition: RawBuilder<boolean>;
    bucketSeconds: number | null;
  },
): Promise<{ bucket_start: Date; count: number }[]> {
  const bucket =
    query.bucketSeconds === null
      ? sql`${query.from}::timestamptz`
      : sql`date_bin(make_interval(secs => ${query.bucketSeconds}::double precision), l.ts, ${query.from}::timestamptz)`;
  const { rows } = await sql<{ bucket_start: Date; count: number | string }>`
    SELECT ${bucket} AS bucket_start, count(*) AS count
      FROM ktrlplane.logs l
     WHERE l.project_id = ${scope.id}
       ${query.resourceId === undefined ? sql`` : sql`AND l.resource_id = ${query.resourceId}`}
       AND l.ts >= ${query.from} AND l.ts < ${query.to}
       AND ${query.condition}
     GROUP BY 1 ORDER BY 1`.execute(db);
  return rows.map((row) => ({ bucket_start: new Date(row.bucket_start), count: Number(row.count) }));
}

/** A stored log line as the live tail sends it. */
export type TailLine = TimelineEntry & { project_id: string };

const TAIL_COLUMNS = sql`'log' AS kind, l.log_id AS id, l.ts, l.project_id, l.resource_id, l.level, l.message, l.attributes`;

/** The rows one committed batch added (from its NOTIFY payload), in id order. */
export async function tailLinesOfBatch(
  db: Kysely<Database>,
  batch: { projectId: string; firstId: number; lastId: number; from: Date; to: Date },
): Promise<TailLine[]> {
  const { rows } = await sql<TailLine>`
    SELECT ${TAIL_COLUMNS} FROM ktrlplane.logs l
     WHERE l.project_id = ${batch.projectId} AND l.log_id BETWEEN ${batch.firstId} AND ${batch.lastId}
       AND l.ts >= ${batch.from} AND l.ts <= ${batch.to}
     ORDER BY l.log_id`.execute(db);
  return rows;
}

/** Lines after a cursor in id order (polling, where ids are handed out in commit order: PGlite). */
export async function tailLinesAfter(
  db: Kysely<Database>,
  afterId: number,
  limit: number,
): Promise<TailLine[]> {
  const { rows } = await sql<TailLine>`
    SELECT ${TAIL_COLUMNS} FROM ktrlplane.logs l
     WHERE l.log_id > ${afterId} ORDER BY l.log_id LIMIT ${limit}`.execute(db);
  return rows;
}

/**
 * Lines of a scope after a cursor that match a condition, oldest first, among those stored since
 * `since` (a live tail resuming, or polling on its own where there is no hub).
 */
export async function tailLinesOfScope(
  db: Kysely<Database>,
  scope: LogScope,
  query: { afterId: number; since: Date; condition: RawBuilder<boolean>; limit: number },
): Promise<TailLine[]> {
  const { rows } = await sql<TailLine>`
    SELECT ${TAIL_COLUMNS} FROM ktrlplane.logs l
     WHERE l.project_id = ${projectIdOf(scope)}
       ${scope.type === 'resource' ? sql`AND l.resource_id = ${scope.id}` : sql``}
       AND l.log_id > ${query.afterId} AND l.ts >= ${query.since} AND ${query.condition}
     ORDER BY l.log_id LIMIT ${query.limit}`.execute(db);
  return rows;
}

export async function latestLogId(db: Kysely<Database>): Promise<number> {
  const { rows } = await sql<{
    id: number | string | null;
  }>`SELECT max(log_id) AS id FROM ktrlplane.logs`.execute(db);
  return Number(rows[0]?.id ?? 0);
}

/** Which of `ids` (lines of one project) match a condition: the live tail's server-side filter. */
export async function logIdsMatching(
  db: Kysely<Database>,
  projectId: string,
  lines: readonly { id: number; ts: Date }[],
  condition: RawBuilder<boolean>,
): Promise<Set<number>> {
  if (lines.length === 0) return new Set();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = 0;
  for (const line of lines) {
    first = Math.min(first, line.id);
    last = Math.max(last, line.id);
    from = Math.min(from, line.ts.getTime());
    to = Math.max(to, line.ts.getTime());
  }
  const { rows } = await sql<{ id: number }>`
    SELECT l.log_id AS id FROM ktrlplane.logs l
     WHERE l.project_id = ${projectId} AND l.log_id BETWEEN ${first} AND ${last}
       AND l.ts >= ${new Date(from)} AND l.ts <= ${new Date(to)} AND ${condition}`.execute(db);
  return new Set(rows.map((row) => Number(row.id)));
}

// ---- partitions -------------------------------------------------------------------------------

/** A day partition: `logs_r<retention days>_<yyyymmdd>`. */
export interface LogPartition {
  name: string;
  retentionDays: number;
  /** UTC midnight the partition starts at. */
  day: Date;
}

const PARTITION_NAME = /^logs_r(\d{1,4})_(\d{4})(\d{2})(\d{2})$/;

export function partitionName(retentionDays: number, day: Date): string {
  const iso = day.toISOString();
  return `logs_r${retentionDays}_${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
}

export async function listLogPartitions(db: Kysely<Database>): Promise<LogPartition[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE n.nspname = 'ktrlplane' AND p.relname LIKE 'logs_r%'`.execute(db);
  const partitions: LogPartition[] = [];
  for (const { name } of rows) {
    const match = PARTITION_NAME.exec(name);
    if (!match) continue;
    partitions.push({
      name,
      retentionDays: Number(match[1]),
      day: new Date(Date.UTC(Number(match[2]), Number(match[3]) - 1, Number(match[4]))),
    });
  }
  return partitions;
}

/**
 * Creates the day partitions (and their retention class) that do not exist yet. Serialised by a
 * transaction-scoped advisory lock so two ingests that need the same new day do not race; names
 * and bounds come from integers and dates we format, never from input text.
 */
export async function createLogPartitions(
  db: Kysely<Database>,
  wanted: readonly { retentionDays: number; day: Date }[],
): Promise<string[]> {
  if (wanted.length === 0) return [];
  const run = async (trx: Kysely<Database>) => {
    await sql`SELECT pg_advisory_xact_lock(7316504812)`.execute(trx);
    const { rows } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'ktrlplane' AND c.relname LIKE 'logs_r%'`.execute(trx);
    const existing = new Set(rows.map((row) => row.name));
    const created: string[] = [];
    for (const { retentionDays, day } of wanted) {
      const days = Math.trunc(retentionDays);
      if (!Number.isSafeInteger(days) || days < 1 || days > 9999) throw new RangeError('bad retention');
      const classTable = `logs_r${days}`;
      if (!existing.has(classTable)) {
        await sql`CREATE TABLE ${sql.table(`ktrlplane.${classTable}`)} PARTITION OF ktrlplane.logs
                    FOR VALUES IN (${sql.raw(String(days))}) PARTITION BY RANGE (ts)`.execute(trx);
        existing.add(classTable);
      }
      const name = partitionName(days, day);
      if (existing.has(name)) continue;
      const start = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
      const end = new Date(start.getTime() + 86_400_000);
      await sql`CREATE TABLE ${sql.table(`ktrlplane.${name}`)} PARTITION OF ${sql.table(`ktrlplane.${classTable}`)}
                  FOR VALUES FROM (${sql.lit(start.toISOString())}) TO (${sql.lit(end.toISOString())})`.execute(
        trx,
      );
      existing.add(name);
      created.push(name);
    }
    return created;
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

export async function dropLogPartition(db: Kysely<Database>, name: string): Promise<void> {
  if (!PARTITION_NAME.test(name)) throw new RangeError(`not a log partition: ${name}`);
  await sql`DROP TABLE IF EXISTS ${sql.table(`ktrlplane.${name}`)}`.execute(db);
}
