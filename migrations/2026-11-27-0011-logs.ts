import { type Kysely, sql } from 'kysely';

/**
 * Resource logs (issue 9):
 * - `ingest_tokens`: per-project credentials of log shippers (OTLP/HTTP, Loki push). Only the
 *   SHA-256 of the secret is stored; the counters say how many lines a token got in and how many
 *   were refused (a resource the project does not own, too old, …).
 * - `logs`: one row per line, partitioned first by the retention the line was stored under
 *   (LIST on `retention_days`, which comes from the project's plan at ingest) and then by day
 *   (RANGE on `ts`), so the retention job drops whole day partitions of each retention class and
 *   never deletes row by row. Day partitions are created ahead by a job and on demand by ingest
 *   (src/services/logs/partitions.ts). Indexes declared here apply to every partition: time per
 *   resource and per project, level, the full-text vector (GIN) and `log_id` (live tail by cursor).
 *   Timestamps are stored at millisecond precision (what a JavaScript Date carries), so a search
 *   cursor round-trips exactly.
 * - `saved_log_searches`: named queries of a project (optionally of one resource).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE ktrlplane.ingest_tokens (
      token_id        text PRIMARY KEY,
      project_id      text NOT NULL REFERENCES ktrlplane.projects(project_id) ON DELETE CASCADE,
      name            text NOT NULL,
      token_hash      text NOT NULL UNIQUE,
      created_by      text,
      created_at      timestamptz NOT NULL,
      last_used_at    timestamptz,
      revoked_at      timestamptz,
      accepted_lines  bigint NOT NULL DEFAULT 0,
      rejected_lines  bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX ingest_tokens_project_idx ON ktrlplane.ingest_tokens (project_id, created_at DESC);

    CREATE TABLE ktrlplane.logs (
      log_id          bigserial NOT NULL,
      retention_days  integer NOT NULL,
      ts              timestamptz NOT NULL,
      received_at     timestamptz NOT NULL,
      project_id      text NOT NULL,
      resource_id     text NOT NULL,
      level           text NOT NULL CHECK (level IN ('trace', 'debug', 'info', 'warn', 'error', 'fatal')),
      message         text NOT NULL,
      attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
      source          text NOT NULL CHECK (source IN ('otlp', 'loki')),
      search          tsvector GENERATED ALWAYS AS (to_tsvector('simple', message)) STORED
    ) PARTITION BY LIST (retention_days);
    CREATE INDEX logs_resource_time_idx ON ktrlplane.logs (resource_id, ts DESC, log_id DESC);
    CREATE INDEX logs_project_time_idx ON ktrlplane.logs (project_id, ts DESC, log_id DESC);
    CREATE INDEX logs_resource_level_idx ON ktrlplane.logs (resource_id, level, ts DESC);
    CREATE INDEX logs_search_idx ON ktrlplane.logs USING gin (search);
    CREATE INDEX logs_id_idx ON ktrlplane.logs (log_id);

    CREATE TABLE ktrlplane.saved_log_searches (
      search_id   text PRIMARY KEY,
      project_id  text NOT NULL REFERENCES ktrlplane.projects(project_id) ON DELETE CASCADE,
      resource_id text,
      name        text NOT NULL,
      query       text NOT NULL,
      time_range  text NOT NULL,
      created_by  text,
      created_at  timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL,
      UNIQUE (project_id, name)
    );
  `.execute(db);
}
