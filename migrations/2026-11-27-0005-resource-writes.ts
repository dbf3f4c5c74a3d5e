import { type Kysely, sql } from 'kysely';

/**
 * What resource writes need beyond the operator's contract columns:
 * - `generation`: bumped on every user-driven change (settings, name, SKU). It is the ETag of a
 *   resource (If-Match → 412 on a stale one) and the operator puts it in an annotation and writes
 *   back the generation it has applied.
 * - `idempotency_keys`: the first answer to a POST carrying an Idempotency-Key, per caller, so a
 *   retry returns it instead of creating a second resource.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE ktrlplane.resources ADD COLUMN generation bigint NOT NULL DEFAULT 1;

    CREATE TABLE ktrlplane.idempotency_keys (
      user_id         text NOT NULL REFERENCES ktrlplane.users (user_id) ON DELETE CASCADE,
      idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
      request_hash    text NOT NULL,
      response_status integer NOT NULL,
      response_body   jsonb NOT NULL,
      created_at      timestamptz NOT NULL,
      PRIMARY KEY (user_id, idempotency_key)
    );
    CREATE INDEX idempotency_keys_created_idx ON ktrlplane.idempotency_keys (created_at);
  `.execute(db);
}
