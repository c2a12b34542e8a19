import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type Koa from 'koa';
import type { WebSocketMiddleware } from '../adapters/koa/index.js';

/** A Koa app listening on 127.0.0.1, and how to stop it (plugin first, then the server). */
export interface Served {
  server: http.Server;
  /** `http://127.0.0.1:port` */
  http: string;
  /** `ws://127.0.0.1:port` */
  ws: string;
  close(): Promise<void>;
}

const running = new Set<Served>();

/**
 * Serves `app` on port 0 with `app.listen()` (default) or `http.createServer(app.callback())`;
 * `attach` also takes upgrades from the server's `upgrade` event through `sockets.attach()`.
 */
export async function serve(
  app: Koa,
  sockets: WebSocketMiddleware | undefined,
  how: 'listen' | 'createServer' = 'listen',
  setup?: (server: http.Server) => void,
): Promise<Served> {
  const server = how === 'listen' ? app.listen(0, '127.0.0.1') : http.createServer(app.callback());
  // Upgraded connections leave the HTTP server's books: track them all, to end them in close().
  const connections = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  setup?.(server);
  if (how === 'createServer') server.listen(0, '127.0.0.1');
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const served: Served = {
    server,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    async close() {
      running.delete(served);
      await sockets?.close();
      server.closeAllConnections();
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.add(served);
  return served;
}

/** Stops every server `serve()` started and not yet closed (for `afterEach`). */
export async function closeAll(): Promise<void> {
  await Promise.all([...running].map((served) => served.close()));
}

/**
 * A raw TCP client that sends a WebSocket handshake for `path` and collects every byte the server
 * sends until it closes the connection; `onData(socket, received)` sees each chunk (all bytes so
 * far), e.g. to answer a close frame or to reset the connection; `onOpen` gets the socket once
 * connected.
 */
export async function rawExchange(
  url: string,
  path: string,
  onData?: (socket: net.Socket, received: Buffer) => void,
  onOpen?: (socket: net.Socket) => void,
): Promise<Buffer> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await once(socket, 'connect');
  onOpen?.(socket);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n',
  );
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    onData?.(socket, received);
  });
  socket.on('error', () => {});
  await once(socket, 'close');
  return received;
}

/** The bytes after the HTTP head of a raw exchange (the WebSocket frames after a 101). */
export function afterHead(received: Buffer): Buffer {
  const end = received.indexOf('\r\n\r\n');
  return end === -1 ? Buffer.alloc(0) : received.subarray(end + 4);
}

/** A masked client close frame (RFC 6455 §5.5.1) with `code`, as a raw client must send it. */
export function clientCloseFrame(code: number): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const payload = Buffer.from([code >> 8, code & 0xff]);
  const masked = payload.map((byte, index) => byte ^ (mask[index % 4] ?? 0));
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, masked]);
}

/** Records what `console.error` prints while `run` runs (Koa's default error logging). */
export async function captureConsoleError(run: () => Promise<void>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    calls.push(args);
  };
  try {
    await run();
  } finally {
    console.error = original;
  }
  return calls;
}
