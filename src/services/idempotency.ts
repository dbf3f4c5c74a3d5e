import { type Kysely, sql } from 'kysely';
import { findStoredResponse, storeResponse } from '../db/idempotency-keys.repository.ts';
import type { Database } from '../db/types.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';

export interface IdempotentAnswer {
  status: number;
  body: unknown;
  replayed: boolean;
}

/**
 * Runs a create at most once per (caller, Idempotency-Key): a retry with the same key and the same
 * request gets the first answer again; the same key with a different request answers 409. The
 * key is locked for the whole transaction, so two simultaneous retries cannot both create, and
 * the answer is stored in the transaction of the write, so a crash leaves neither or both.
 */
export async function idempotent(
  db: Kysely<Database>,
  request: { userId: string; key: string; method: string; path: string; body: unknown },
  now: Date,
  work: (trx: Kysely<Database>) => Promise<{ status: number; body: unknown }>,
): Promise<IdempotentAnswer> {
  if (request.key.length > 255)
    throw new AppError(400, 'Bad Request', 'Idempotency-Key must be at most 255 characters.');
  const requestHash = await sha256Hex(JSON.stringify([request.method, request.path, request.body]));
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`idempotency:${request.userId}:${request.key}`}))`.execute(
      trx,
    );
    const stored = await findStoredResponse(trx, request.userId, request.key);
    if (stored) {
      if (stored.requestHash !== requestHash) {
        throw new AppError(
          409,
          'Conflict',
          'This Idempotency-Key was already used for a different request; use a new key for a new request.',
        );
      }
      return { status: stored.status, body: stored.body, replayed: true };
    }
    const answer = await work(trx);
    await storeResponse(trx, request.userId, request.key, { requestHash, ...answer }, now);
    return { ...answer, replayed: false };
  });
}
