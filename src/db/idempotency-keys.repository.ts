import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

export interface StoredResponse {
  requestHash: string;
  status: number;
  body: unknown;
}

/** The first answer given to this caller for this key, if any. Keys are per user. */
export async function findStoredResponse(
  db: Kysely<Database>,
  userId: string,
  key: string,
): Promise<StoredResponse | undefined> {
  const row = await db
    .selectFrom('ktrlplane.idempotency_keys')
    .select(['request_hash', 'response_status', 'response_body'])
    .where('user_id', '=', userId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  return row
    ? { requestHash: row.request_hash, status: row.response_status, body: row.response_body }
    : undefined;
}

/** Remembers an answer; in the transaction of the write it answers, so both exist or neither. */
export async function storeResponse(
  db: Kysely<Database>,
  userId: string,
  key: string,
  response: StoredResponse,
  now: Date,
): Promise<void> {
  await db
    .insertInto('ktrlplane.idempotency_keys')
    .values({
      user_id: userId,
      idempotency_key: key,
      request_hash: response.requestHash,
      response_status: response.status,
      response_body: JSON.stringify(response.body),
      created_at: now,
    })
    .execute();
}

export async function deleteIdempotencyKeysBefore(db: Kysely<Database>, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('ktrlplane.idempotency_keys')
    .where('created_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
