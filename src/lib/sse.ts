/**
 * Server-Sent Events (text/event-stream) with a bounded buffer per client.
 *
 * The body is a ReadableStream whose queue is limited in bytes: what the runtime has not yet
 * handed to the socket waits there. Live events are written without waiting (one event fans out
 * to thousands of streams at once), a burst of them at a time: a client whose buffer is still
 * over its bound when the next burst comes has not kept up, and is cut off — it reconnects with
 * its last event id and reads what it missed from the database, which costs far less than
 * holding an unbounded backlog in memory for it. So a client holds at most its bound plus one
 * burst. Bulk writes (a backlog after a resume) wait for room instead (`writeWhenReady`).
 */

const encoder = new TextEncoder();

export interface SseMessage {
  /** The resume cursor a client sends back as Last-Event-ID. */
  id?: string | number;
  /** Dispatched under this name; without it, a client sees a `message`. */
  event?: string;
  data: string;
}

/** One message in wire format; encode once and write the bytes to every stream that wants them. */
export function encodeSseMessage(message: SseMessage): Uint8Array {
  let text = message.event ? `event: ${message.event}\n` : '';
  for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  if (message.id !== undefined) text += `id: ${message.id}\n`;
  return encoder.encode(`${text}\n`);
}

/** A comment line: keeps proxies and load balancers from closing an idle stream; clients ignore it. */
export function encodeSseComment(text: string): Uint8Array {
  return encoder.encode(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
}

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  // nginx and similar proxies buffer responses unless told not to.
  'X-Accel-Buffering': 'no',
} as const;

export type SseEndReason = 'closed' | 'client-gone' | 'slow-client';

export class SlowClientError extends Error {
  override name = 'SlowClientError';
}

export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #ended: SseEndReason | null = null;
  #endListeners: Array<(reason: SseEndReason) => void> = [];
  #roomWaiters: Array<() => void> = [];

  constructor(options: { maxBufferedBytes: number }) {
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        // Called whenever the queue has room again: wakes writers waiting for it.
        pull: () => {
          for (const wake of this.#roomWaiters.splice(0)) wake();
        },
        cancel: () => this.#end('client-gone'),
      },
      { highWaterMark: options.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  /** Why the stream ended, or null while it is open. */
  get ended(): SseEndReason | null {
    return this.#ended;
  }

  onEnd(listener: (reason: SseEndReason) => void): void {
    if (this.#ended) listener(this.#ended);
    else this.#endListeners.push(listener);
  }

  /**
   * Queues a burst of messages without waiting. Answers false when the stream has ended — or when
   * the client's buffer is still over its bound, in which case the client is cut off (it resumes
   * by cursor).
   */
  write(chunks: Uint8Array | readonly Uint8Array[]): boolean {
    if (this.#ended) return false;
    if ((this.#controller.desiredSize ?? 0) <= 0) {
      this.#end('slow-client');
      this.#controller.error(new SlowClientError('The client did not keep up with its event stream.'));
      return false;
    }
    if (chunks instanceof Uint8Array) this.#controller.enqueue(chunks);
    else for (const chunk of chunks) this.#controller.enqueue(chunk);
    return true;
  }

  /**
   * Queues a message only when the client's buffer has room, and never cuts the client off:
   * answers false (nothing queued) when it is full or the stream has ended. For what may be
   * dropped and counted rather than resumed (live log lines).
   */
  offer(bytes: Uint8Array): boolean {
    if (this.#ended || (this.#controller.desiredSize ?? 0) <= 0) return false;
    this.#controller.enqueue(bytes);
    return true;
  }

  /** Queues bytes once the client's buffer has room for them; false when the stream has ended. */
  async writeWhenReady(bytes: Uint8Array): Promise<boolean> {
    while (!this.#ended && (this.#controller.desiredSize ?? 0) <= 0) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    if (this.#ended) return false;
    // Room for a part of it is enough: the buffer bound is for live events, which cannot wait.
    this.#controller.enqueue(bytes);
    return true;
  }

  /** Ends the stream normally: what is queued is still delivered, then the response ends. */
  close(): void {
    if (this.#ended) return;
    this.#end('closed');
    this.#controller.close();
  }

  #end(reason: SseEndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    for (const wake of this.#roomWaiters.splice(0)) wake();
    for (const listener of this.#endListeners.splice(0)) listener(reason);
  }
}
