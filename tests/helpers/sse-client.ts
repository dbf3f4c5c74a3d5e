/**
 * Reads a text/event-stream response the way EventSource does (fields `id`, `event`, `data`,
 * comment lines), collecting what arrives so tests can wait for it.
 */
export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Resolves when the stream ends: 'end' normally, or the error it failed with. */
  readonly ended: Promise<'end' | Error>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #wake: Array<() => void> = [];
  #done = false;

  constructor(response: Response) {
    if (!response.body) throw new Error('The response has no body.');
    this.#reader = response.body.getReader();
    this.ended = this.#read().then(
      () => 'end' as const,
      (error: unknown) => error as Error,
    );
    void this.ended.then(() => {
      this.#done = true;
      this.#notify();
    });
  }

  get done(): boolean {
    return this.#done;
  }

  /** The id of the last event that carried one (what a reconnect sends as Last-Event-ID). */
  get lastEventId(): string | undefined {
    return this.events.findLast((event) => event.id !== undefined)?.id;
  }

  /** Waits until `condition` holds over what has arrived; rejects after `timeoutMs`. */
  async waitFor(
    condition: (client: SseClient) => boolean,
    timeoutMs = 5_000,
    what = 'events',
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition(this)) {
      if (this.#done)
        throw new Error(`the stream ended before ${what} arrived (got ${this.events.length} events)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (got ${this.events.length} events)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForEvents(count: number, timeoutMs = 5_000): Promise<void> {
    return this.waitFor((client) => client.events.length >= count, timeoutMs, `${count} events`);
  }

  /** Hangs up, like a browser tab being closed. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let current: SseEvent = { id: undefined, event: undefined, data: '' };
    let hasData = false;
    for (;;) {
      const { done, value } = await this.#reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (hasData || current.event) this.events.push(current);
          current = { id: undefined, event: undefined, data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          current.data += (hasData ? '\n' : '') + fieldValue;
          hasData = true;
        } else if (field === 'event') {
          current.event = fieldValue;
        } else if (field === 'id') {
          current.id = fieldValue;
        }
      }
      this.#notify();
    }
  }
}
