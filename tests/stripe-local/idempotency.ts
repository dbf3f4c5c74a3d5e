import { StripeApiError } from './wire.ts';

/**
 * `Idempotency-Key` as Stripe honours it on POST requests: the first answer of an executed
 * request is kept for 24 hours and replayed (with `Idempotent-Replayed: true`) for the same key,
 * endpoint and parameters; the same key with another endpoint or other parameters is a 400
 * `idempotency_error`; a key whose first request is still running is a 409. Answers of requests
 * that never started executing (failed validation, injected `before` faults) are not kept.
 */

export interface SavedAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

interface Entry {
  endpoint: string;
  params: string;
  createdAt: number;
  answer: SavedAnswer | null;
}

export type IdempotencyOutcome =
  | { kind: 'execute' }
  | { kind: 'replay'; answer: SavedAnswer }
  | { kind: 'reject'; error: StripeApiError };

const RETENTION_SECONDS = 24 * 60 * 60;

export class IdempotencyKeys {
  private readonly entries = new Map<string, Entry>();

  /** Decides what a request with `key` does; on `execute` the key is held until `finish`. */
  begin(key: string, endpoint: string, params: unknown, now: number): IdempotencyOutcome {
    this.expire(now);
    const canonical = canonicalJson(params);
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { endpoint, params: canonical, createdAt: now, answer: null });
      return { kind: 'execute' };
    }
    if (entry.endpoint !== endpoint) {
      return {
        kind: 'reject',
        error: new StripeApiError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${entry.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
        }),
      };
    }
    if (entry.params !== canonical) {
      return {
        kind: 'reject',
        error: new StripeApiError(400, {
          type: 'idempotency_error',
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        }),
      };
    }
    if (!entry.answer) {
      return {
        kind: 'reject',
        error: new StripeApiError(409, {
          type: 'invalid_request_error',
          code: 'idempotency_key_in_use',
          message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
        }),
      };
    }
    return { kind: 'replay', answer: entry.answer };
  }

  /** Stores the answer under the key, or releases the key when the answer must not be kept. */
  finish(key: string, answer: SavedAnswer | null): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (answer) entry.answer = answer;
    else this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.answer && now - entry.createdAt > RETENTION_SECONDS) this.entries.delete(key);
    }
  }
}

/** JSON with sorted keys, so the same parameters in another order compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      return Object.fromEntries(
        Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
    return inner;
  });
}
