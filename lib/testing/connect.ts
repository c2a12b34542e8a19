import {
  type ClientRequestArgs,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { text } from 'node:stream/consumers';
import { WebSocket as Connection } from 'ws';
import { Client, type ClientSetup } from './client.js';
import { timedOut, WebSocketRefused } from './errors.js';
import { MemorySocket } from './memory-socket.js';
import type { TestWebSocket } from './test-websocket.js';

/** A Node.js request listener, such as an Express application. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** What `connect()` sends requests to: an Express app or other request listener, or a Koa app. */
export type TestedApp = RequestListener | { callback(): RequestListener };

/** Options of `connect()`. */
export interface ConnectOptions {
  /**
   * Headers of the upgrade request (`Cookie`, `Authorization`, `Origin`, …). By default it
   * carries `Host: localhost` and, like any non-browser client, no `Origin`.
   */
  headers?: OutgoingHttpHeaders;
  /** The subprotocols to offer, in order of preference (none by default). */
  subprotocols?: readonly string[];
  /**
   * How long, in ms, `connect()` waits for the handshake to be accepted or refused, each receive
   * waits for a message, and `close()` waits for the server's answer. Default 2 000.
   */
  timeout?: number;
}

const DEFAULT_TIMEOUT = 2_000;
/** A subprotocol name is an HTTP token (RFC 6455 §4.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Opens a WebSocket connection to `app` in memory: no port, no listening server. The upgrade
 * request goes through Node's HTTP server code and the whole app (its middleware, routes and
 * error handling) exactly as one from a TCP connection would, and `ws` frames both ends.
 * Resolves once the handler accepted; rejects with {@link WebSocketRefused} when the app answers
 * with an HTTP response instead (401 from a middleware, 403, 404, 500, …), and with a
 * `TimeoutError` when neither happens within `timeout` ms.
 *
 * @param app an Express app (or any `(req, res)` request listener), or a Koa app
 * @param path the request target: `/rooms/general?name=ann`
 */
export async function connect(
  app: TestedApp,
  path: string,
  options: ConnectOptions = {},
): Promise<TestWebSocket> {
  const { headers, subprotocols = [], timeout = DEFAULT_TIMEOUT } = options;
  checkOptions(path, subprotocols, timeout);
  const [clientEnd, serverEnd] = MemorySocket.pair();
  const serverClosed = new Promise<void>((resolve) => serverEnd.once('close', () => resolve()));
  const clientOptions: ClientRequestArgs & { closeTimeout: number } = {
    createConnection: () => clientEnd,
    // Offered by hand rather than through `ws`, which would refuse a server that chooses
    // none; browsers accept it (see `handshake`).
    headers:
      subprotocols.length > 0
        ? { ...headers, 'Sec-WebSocket-Protocol': subprotocols.join(', ') }
        : headers,
    // `ws`'s option (missing from its type declarations): how long close() waits for the server.
    closeTimeout: timeout,
  };
  let connection: Connection;
  try {
    connection = new Connection(`ws://localhost${path}`, clientOptions);
  } catch (error) {
    clientEnd.destroy();
    throw error;
  }
  // A server per connection, never listening: it parses the request and hands it to the app,
  // the code path of a TCP connection from there on. Made anew each time, it sees the app as
  // it is now (routes added since the last test) and holds nothing once the connection closes.
  createServer(listenerOf(app)).emit('connection', serverEnd);
  return handshake(connection, { path, subprotocols, timeout, serverClosed });
}

function checkOptions(path: string, subprotocols: readonly string[], timeout: number): void {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError(`connect(): the path must start with '/', got ${JSON.stringify(path)}`);
  }
  if (!(Number.isFinite(timeout) && timeout > 0)) {
    throw new RangeError(`connect(): timeout must be a positive number of ms, got ${timeout}`);
  }
  for (const [index, name] of subprotocols.entries()) {
    if (typeof name !== 'string' || !TOKEN.test(name) || subprotocols.indexOf(name) !== index) {
      throw new TypeError(`connect(): invalid or repeated subprotocol ${JSON.stringify(name)}`);
    }
  }
}

function listenerOf(app: TestedApp): RequestListener {
  return typeof app === 'function' ? app : app.callback();
}

interface HandshakeSetup {
  path: string;
  subprotocols: readonly string[];
  timeout: number;
  serverClosed: Promise<void>;
}

/** Waits for the server to accept (101) or refuse (any other response) the upgrade. */
function handshake(connection: Connection, setup: HandshakeSetup): Promise<TestWebSocket> {
  const { path, subprotocols, timeout } = setup;
  return new Promise((resolve, reject) => {
    let subprotocol: string | undefined;
    let headers: IncomingHttpHeaders = {};
    // Until the handshake is over its errors are connect()'s: a refusal, an invalid 101, the
    // client giving up. Whatever comes first settles it; terminating ends both sockets.
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
      connection.terminate();
    };
    const onError = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(
        timedOut(
          `connect() to ${path} waited ${timeout} ms for the server to accept or refuse the upgrade`,
        ),
      );
    }, timeout);
    connection.on('error', onError);
    connection.on('upgrade', (res: IncomingMessage) => {
      const chosen = res.headers['sec-websocket-protocol'];
      if (chosen !== undefined && !subprotocols.includes(chosen)) {
        fail(
          new Error(
            `connect() to ${path}: the server chose the subprotocol ${JSON.stringify(chosen)}, which was not offered`,
          ),
        );
        return;
      }
      subprotocol = chosen;
      headers = { ...res.headers };
      // Checked here, as a browser does: `ws` compares it with the subprotocols it was given
      // (none), so it must not see it.
      delete res.headers['sec-websocket-protocol'];
    });
    connection.on('unexpected-response', (_req, res: IncomingMessage) => {
      text(res).then(
        (body) => fail(new WebSocketRefused(res.statusCode ?? 0, { ...res.headers }, body)),
        fail,
      );
    });
    connection.once('open', () => {
      clearTimeout(timer);
      connection.removeListener('error', onError);
      const client: ClientSetup = {
        path,
        subprotocol,
        headers,
        timeout,
        serverClosed: setup.serverClosed,
      };
      resolve(new Client(connection, client));
    });
  });
}
