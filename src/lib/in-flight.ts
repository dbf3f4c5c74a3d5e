/**
 * Counts requests whose handlers are still running, so a graceful shutdown can wait for them:
 * the HTTP server's close() only waits for sockets, and a handler outlives a client that hung up.
 */
export class InFlightRequests {
  #count = 0;
  #waiters: Array<() => void> = [];

  get count(): number {
    return this.#count;
  }

  wrap<A extends unknown[]>(
    fetch: (...args: A) => Response | Promise<Response>,
  ): (...args: A) => Promise<Response> {
    return async (...args: A) => {
      this.#count += 1;
      try {
        return await fetch(...args);
      } finally {
        this.#count -= 1;
        if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
      }
    };
  }

  /** Resolves once no request is being handled. */
  drained(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}
