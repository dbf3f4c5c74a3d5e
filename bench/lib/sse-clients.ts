/**
 * A child process of bench/sse.ts holding many SSE connections, so the clients' work does not run
 * in the server's process. Driven over IPC:
 * - {cmd: 'connect', url, token, count}: opens `count` streams (at most 100 connecting at once),
 *   answers {connected} once every one has its 200 response;
 * - {cmd: 'collect', eventId, timeoutMs}: answers {times, missing} — the wall-clock time (ms) at
 *   which each stream received the event with that id;
 * - {cmd: 'close'}: hangs up and exits.
 */
import net from 'node:net';

interface Connection {
  socket: net.Socket;
  tail: string;
  /** event id → wall-clock time it arrived. */
  seen: Map<number, number>;
}

const connections: Connection[] = [];
const wallNow = () => performance.timeOrigin + performance.now();
const idLine = /(?:^|\n)id: (\d+)\n/g;

/**
 * One stream over a raw socket: a hand-written GET, then the bytes scanned for `id:` lines. No
 * HTTP client parsing or chunk decoding (the chunk-size lines never look like `id: N`), so the
 * client machinery adds as little as possible to what is measured.
 */
function open(url: string, token: string): Promise<void> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const connection: Connection = { socket: undefined as never, tail: '', seen: new Map() };
    let headersDone = false;
    const socket = net.connect(Number(target.port), target.hostname, () => {
      socket.write(
        `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
      );
    });
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const at = wallNow();
      let text = connection.tail + chunk;
      if (!headersDone) {
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) {
          connection.tail = text;
          return;
        }
        if (!text.startsWith('HTTP/1.1 200')) {
          reject(new Error(`stream answered ${text.slice(0, 600)}`));
          socket.destroy();
          return;
        }
        headersDone = true;
        connections.push(connection);
        resolve();
        text = text.slice(end + 4);
      }
      for (const match of text.matchAll(idLine)) {
        const id = Number(match[1]);
        if (!connection.seen.has(id)) connection.seen.set(id, at);
      }
      // Keep the end of an unfinished line for the next chunk.
      connection.tail = text.slice(Math.max(0, text.lastIndexOf('\n')));
    });
    socket.on('error', reject);
    connection.socket = socket;
  });
}

async function connect(url: string, token: string, count: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      await open(url, token);
    }
  };
  await Promise.all(Array.from({ length: Math.min(100, count) }, worker));
  return connections.length;
}

async function collect(eventId: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (connections.some((c) => !c.seen.has(eventId)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const times: number[] = [];
  let missing = 0;
  for (const connection of connections) {
    const at = connection.seen.get(eventId);
    if (at === undefined) missing += 1;
    else times.push(at);
  }
  return { times, missing };
}

process.on(
  'message',
  (message: {
    cmd: string;
    url: string;
    token: string;
    count: number;
    eventId: number;
    timeoutMs: number;
  }) => {
    const reply = (value: unknown) => process.send?.(value);
    switch (message.cmd) {
      case 'connect':
        connect(message.url, message.token, message.count).then(
          (connected) => reply({ connected }),
          (error: Error) => reply({ error: error.message }),
        );
        break;
      case 'collect':
        void collect(message.eventId, message.timeoutMs).then(reply);
        break;
      case 'close':
        for (const connection of connections) connection.socket.destroy();
        process.exit(0);
    }
  },
);
