import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

/**
 * The piece of Neon's infrastructure that lets its serverless driver reach an ordinary Postgres:
 * a WebSocket endpoint that relays binary frames to the TCP address given in `?address=host:port`.
 * Only loopback addresses are relayed.
 */
export async function startWsProxy(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const [host = '', portText = ''] = address.split(':');
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
      socket.close(1008, 'only loopback addresses are relayed');
      return;
    }
    const tcp = connect(Number(portText), host);
    tcp.on('data', (chunk) => socket.send(chunk));
    tcp.on('close', () => socket.close());
    tcp.on('error', () => socket.close());
    socket.on('message', (data) => tcp.write(data as Buffer));
    socket.on('close', () => tcp.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
