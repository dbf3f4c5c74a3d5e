import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/types.ts';

/**
 * Upper bounds (ms) of the latency histogram of ktrlplane.api_usage_minutes.duration_buckets; the
 * array has one more count, for slower requests. Shared with the alerts helper's latency charts.
 */
export const API_LATENCY_BUCKETS_MS: readonly number[] = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

export interface ApiCall {
  orgId: string;
  /** '' when the call concerns the organization itself. */
  projectId: string;
  /** '' for calls made without an API token (sessions, OIDC). */
  tokenId: string;
  at: Date;
  status: number;
  durationMs: number;
}

interface MinuteCounts {
  orgId: string;
  projectId: string;
  tokenId: string;
  minute: number;
  requests: number;
  clientErrors: number;
  serverErrors: number;
  durationMsSum: number;
  buckets: number[];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

function bucketIndex(durationMs: number): number {
  for (let index = 0; index < API_LATENCY_BUCKETS_MS.length; index++) {
    if (durationMs <= (API_LATENCY_BUCKETS_MS[index] as number)) return index;
  }
  return API_LATENCY_BUCKETS_MS.length;
}

/**
 * API calls counted in memory per (org, project, token, minute) and written in batches: one
 * multi-row upsert into ktrlplane.api_usage_minutes per flush, never a row per request. The
 * flush also queues the touched hours for the rollup (usage_dirty_hours), in the same
 * transaction. A failed flush puts its counts back, so the next flush retries them.
 *
 * On Node one recorder serves the process: server.ts flushes it every USAGE_API_FLUSH_SECONDS,
 * when it holds more than `maxKeys` minutes, and on shutdown (after requests in flight drained).
 * On Workers an isolate may be evicted at any moment and a database connection cannot outlive its
 * request, so each request gets its own recorder, flushed after the response in waitUntil.
 */
export class ApiUsageRecorder {
  private counts = new Map<string, MinuteCounts>();
  private flushing: Promise<number> | null = null;

  constructor(
    /** Called when the buffer grows past `maxKeys` (the owner schedules a flush). */
    private readonly onFull: (() => void) | null = null,
    private readonly maxKeys = 5000,
  ) {}

  get size(): number {
    return this.counts.size;
  }

  record(call: ApiCall): void {
    const minute = Math.floor(call.at.getTime() / MINUTE_MS) * MINUTE_MS;
    const key = `${call.orgId}\u0000${call.projectId}\u0000${call.tokenId}\u0000${minute}`;
    let entry = this.counts.get(key);
    if (!entry) {
      entry = {
        orgId: call.orgId,
        projectId: call.projectId,
        tokenId: call.tokenId,
        minute,
        requests: 0,
        clientErrors: 0,
        serverErrors: 0,
        durationMsSum: 0,
        buckets: new Array(API_LATENCY_BUCKETS_MS.length + 1).fill(0),
      };
      this.counts.set(key, entry);
      if (this.counts.size === this.maxKeys) this.onFull?.();
    }
    entry.requests += 1;
    if (call.status >= 500) entry.serverErrors += 1;
    else if (call.status >= 400) entry.clientErrors += 1;
    entry.durationMsSum += call.durationMs;
    const bucket = bucketIndex(call.durationMs);
    entry.buckets[bucket] = (entry.buckets[bucket] ?? 0) + 1;
  }

  /**
   * Writes everything counted so far; answers the number of minute rows written. Overlapping
   * calls wait for the flush in progress and then write what arrived meanwhile.
   */
  async flush(db: Kysely<Database>): Promise<number> {
    while (this.flushing !== null) await this.flushing.catch(() => 0);
    if (this.counts.size === 0) return 0;
    const batch = [...this.counts.values()];
    this.counts = new Map();
    this.flushing = writeApiUsage(db, batch).catch((error: unknown) => {
      for (const entry of batch) this.merge(entry);
      throw error;
    });
    try {
      return await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private merge(entry: MinuteCounts): void {
    const key = `${entry.orgId}\u0000${entry.projectId}\u0000${entry.tokenId}\u0000${entry.minute}`;
    const current = this.counts.get(key);
    if (!current) {
      this.counts.set(key, entry);
      return;
    }
    current.requests += entry.requests;
    current.clientErrors += entry.clientErrors;
    current.serverErrors += entry.serverErrors;
    current.durationMsSum += entry.durationMsSum;
    current.buckets = current.buckets.map((count, index) => count + (entry.buckets[index] ?? 0));
  }
}

async function writeApiUsage(db: Kysely<Database>, batch: MinuteCounts[]): Promise<number> {
  // Sorted, so two flushes that touch the same rows lock them in the same order.
  batch.sort((a, b) =>
    a.orgId !== b.orgId
      ? a.orgId < b.orgId
        ? -1
        : 1
      : a.projectId !== b.projectId
        ? a.projectId < b.projectId
          ? -1
          : 1
        : a.tokenId !== b.tokenId
          ? a.tokenId < b.tokenId
            ? -1
            : 1
          : a.minute - b.minute,
  );
  const hours = new Map<string, { org: string; project: string; hour: Date }>();
  for (const entry of batch) {
    const hour = Math.floor(entry.minute / HOUR_MS) * HOUR_MS;
    hours.set(`${entry.orgId}\u0000${entry.projectId}\u0000${hour}`, {
      org: entry.orgId,
      project: entry.projectId,
      hour: new Date(hour),
    });
  }
  const dirty = [...hours.values()];
  await db.transaction().execute(async (trx) => {
    await sql`
      INSERT INTO ktrlplane.api_usage_minutes AS t
        (org_id, project_id, token_id, minute, requests, client_errors, server_errors, duration_ms_sum, duration_buckets)
      SELECT org_id, project_id, token_id, minute, requests, client_errors, server_errors, duration_ms_sum, buckets::int[]
      FROM unnest(${batch.map((e) => e.orgId)}::text[], ${batch.map((e) => e.projectId)}::text[],
        ${batch.map((e) => e.tokenId)}::text[], ${batch.map((e) => new Date(e.minute).toISOString())}::timestamptz[],
        ${batch.map((e) => e.requests)}::int[], ${batch.map((e) => e.clientErrors)}::int[],
        ${batch.map((e) => e.serverErrors)}::int[], ${batch.map((e) => e.durationMsSum)}::float8[],
        ${batch.map((e) => `{${e.buckets.join(',')}}`)}::text[])
        AS v(org_id, project_id, token_id, minute, requests, client_errors, server_errors, duration_ms_sum, buckets)
      ON CONFLICT (org_id, project_id, token_id, minute) DO UPDATE SET
        requests = t.requests + excluded.requests,
        client_errors = t.client_errors + excluded.client_errors,
        server_errors = t.server_errors + excluded.server_errors,
        duration_ms_sum = t.duration_ms_sum + excluded.duration_ms_sum,
        duration_buckets = ARRAY(
          SELECT coalesce(a, 0) + coalesce(b, 0)
          FROM unnest(t.duration_buckets, excluded.duration_buckets) WITH ORDINALITY AS x(a, b, i)
          ORDER BY i)
    `.execute(trx);
    await sql`
      INSERT INTO ktrlplane.usage_dirty_hours (org_id, project_id, resource_id, metric, hour)
      SELECT org_id, project_id, '', 'api_calls', hour
      FROM unnest(${dirty.map((d) => d.org)}::text[], ${dirty.map((d) => d.project)}::text[],
        ${dirty.map((d) => d.hour.toISOString())}::timestamptz[]) AS v(org_id, project_id, hour)
      ON CONFLICT DO NOTHING
    `.execute(trx);
  });
  return batch.length;
}
