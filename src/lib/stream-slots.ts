import type { Config } from '../config.ts';
import { AppError } from './errors.ts';

/**
 * Open event streams (SSE) counted per user and per process. A stream holds a database follower,
 * timers and a send buffer for as long as it stays open, so an unbounded number of them per user
 * is a cheap way to exhaust a server; a stream past either cap is refused with 429 and a
 * Retry-After before anything is opened, and its slot is given back when the stream ends (for
 * whatever reason: closed, client gone, cut off). Node: one per process (createApp makes it);
 * Workers: one per isolate (worker-runtime.ts keeps it across requests).
 */
export interface StreamLimits {
  perUser: number;
  perProcess: number;
  retryAfterSeconds: number;
}

export class StreamSlots {
  #byUser = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: StreamLimits) {}

  get open(): number {
    return this.#total;
  }

  /** Takes a slot for `userKey`; answers the function that gives it back (idempotent), or throws 429. */
  acquire(userKey: string): () => void {
    const held = this.#byUser.get(userKey) ?? 0;
    if (held >= this.limits.perUser)
      throw this.#refusal(
        `You have ${held} live streams open, the most one account may hold; close a tab or wait for one to end.`,
      );
    if (this.#total >= this.limits.perProcess)
      throw this.#refusal('This server holds as many live streams as it can; try again shortly.');
    this.#byUser.set(userKey, held + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#byUser.get(userKey) ?? 1) - 1;
      if (left <= 0) this.#byUser.delete(userKey);
      else this.#byUser.set(userKey, left);
    };
  }

  #refusal(detail: string): AppError {
    return new AppError(429, 'Too Many Requests', detail, [], {
      'Retry-After': String(this.limits.retryAfterSeconds),
    });
  }
}

/** The slots `config` asks for; a refused stream may retry after 30 seconds. */
export function streamSlotsFor(config: Config): StreamSlots {
  return new StreamSlots({
    perUser: config.SSE_STREAMS_PER_USER,
    perProcess: config.SSE_STREAMS_PER_PROCESS,
    retryAfterSeconds: 30,
  });
}
