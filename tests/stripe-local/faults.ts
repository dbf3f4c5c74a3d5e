import { newId } from './store.ts';
import { StripeApiError } from './wire.ts';

/**
 * Injected failures: the next `count` requests matching a path pattern (and method) answer with
 * `status` instead of (phase `before`) or after (phase `after`) being executed. `after` is the
 * lost-response case: the work happened and is stored under the request's idempotency key, so a
 * retry with the same key gets the original answer, which is what makes client retries safe.
 */

export interface FaultSpec {
  /** Path pattern; `*` matches any run of characters (`/v1/customers`, `/v1/checkout/*`, `*`). */
  path: string;
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Status to answer (429, 500, 503, …). Absent: the request is only delayed by `delayMs`. */
  status?: number;
  /** How many matching requests fail; default 1. */
  count?: number;
  /** `before` (default): not executed. `after`: executed and stored, then the answer is replaced. */
  phase?: 'before' | 'after';
  /** Sends `Stripe-Should-Retry`; default `true` for 429 (so the client's own retries run), unset otherwise. */
  shouldRetry?: boolean;
  /** Waits this long before answering (or executing, when no status is given). */
  delayMs?: number;
  /** Error code and message in the body; defaults follow Stripe (`rate_limit`, "An unknown error occurred"). */
  code?: string;
  message?: string;
}

export interface Fault {
  id: string;
  path: string;
  method: string | null;
  status: number | null;
  phase: 'before' | 'after';
  shouldRetry: boolean | null;
  delayMs: number;
  code: string | null;
  message: string | null;
  /** Matching requests still to fail. */
  remaining: number;
  /** Requests this fault answered so far. */
  hits: number;
}

export class Faults {
  private faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    if (typeof spec.path !== 'string' || spec.path === '') throw new Error('a fault needs a path pattern');
    if (spec.status === undefined && !spec.delayMs) throw new Error('a fault needs a status or a delayMs');
    if (spec.status !== undefined && (spec.status < 400 || spec.status > 599)) {
      throw new Error('a fault status must be a 4xx or 5xx code');
    }
    const fault: Fault = {
      id: newId('fault', 12),
      path: spec.path,
      method: spec.method ? spec.method.toUpperCase() : null,
      status: spec.status ?? null,
      phase: spec.phase ?? 'before',
      shouldRetry: spec.shouldRetry ?? (spec.status === 429 ? true : null),
      delayMs: spec.delayMs ?? 0,
      code: spec.code ?? null,
      message: spec.message ?? null,
      remaining: spec.count ?? 1,
      hits: 0,
    };
    this.faults.push(fault);
    return fault;
  }

  /** Takes one use of the first live fault matching this request in this phase. */
  take(method: string, path: string, phase: 'before' | 'after'): Fault | undefined {
    const fault = this.faults.find(
      (candidate) =>
        candidate.remaining > 0 &&
        candidate.phase === phase &&
        (candidate.method === null || candidate.method === method) &&
        globMatches(candidate.path, path),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  clear(): void {
    this.faults = [];
  }
}

function globMatches(pattern: string, path: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(path);
}

/** The error answer of a fault, shaped like Stripe's own 429s and 5xxs. */
export function faultError(fault: Fault): StripeApiError {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  if (fault.shouldRetry !== null) headers['Stripe-Should-Retry'] = String(fault.shouldRetry);
  if (status === 429) {
    return new StripeApiError(
      429,
      {
        type: 'invalid_request_error',
        code: fault.code ?? 'rate_limit',
        message:
          fault.message ??
          'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.',
      },
      headers,
    );
  }
  if (status >= 500) {
    return new StripeApiError(
      status,
      {
        type: 'api_error',
        message: fault.message ?? 'An unknown error occurred',
        ...(fault.code ? { code: fault.code } : {}),
      },
      headers,
    );
  }
  return new StripeApiError(
    status,
    {
      type: 'invalid_request_error',
      message: fault.message ?? 'Injected failure.',
      ...(fault.code ? { code: fault.code } : {}),
    },
    headers,
  );
}
