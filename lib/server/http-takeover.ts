import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Refusal } from './handshake.js';

/**
 * Taking a connection away from Node's HTTP server. On the `upgrade` event path Node has already
 * done it; on the request path (a server with no `upgrade` listener hands upgrade requests to its
 * `request` handler) the server still owns the socket: its parser would read WebSocket frames as
 * HTTP and its request/headers timeouts would answer 408 into the WebSocket stream. Node exposes
 * no API for this, so we undo exactly what `connectionListenerInternal` set up, the way Node does
 * before it emits `upgrade` (lib/_http_server.js, `onParserExecuteCommon`).
 */

/** The server's per-connection listeners, by the names Node gives them (Node 20–24). */
const SERVER_LISTENERS: ReadonlyArray<readonly [string, string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];

/** The parts of Node's internal HTTPParser used here. */
interface HttpParser {
  _consumed?: boolean;
  socket?: unknown;
  incoming?: unknown;
  onIncoming?: unknown;
  unconsume?(): void;
  remove?(): void;
  close?(): void;
}

type ServerSocket = Socket & { parser?: HttpParser | null };

/** Whether Node's HTTP server still reads from this socket (the request path). */
export function ownedByHttpServer(socket: Socket): boolean {
  return Boolean((socket as ServerSocket).parser);
}

/** Makes `socket` a plain socket again, as Node does before emitting `upgrade`. */
export function detachFromHttpServer(socket: Socket): void {
  const owned = socket as ServerSocket;
  for (const [event, name] of SERVER_LISTENERS) {
    for (const listener of owned.listeners(event)) {
      if (listener.name === name) owned.removeListener(event, listener as () => void);
    }
  }
  const parser = owned.parser;
  if (parser) {
    if (parser._consumed) parser.unconsume?.();
    parser._consumed = false;
    // Leaves the server's connection list, so requestTimeout/headersTimeout stop applying.
    parser.remove?.();
    parser.socket = null;
    parser.incoming = null;
    parser.onIncoming = null;
    owned.parser = null;
    // Freed once the stack that may still be inside the parser has unwound.
    setImmediate(() => parser.close?.());
  }
  // The server's idle timeout (`server.timeout`, keepAliveTimeout) no longer applies.
  owned.setTimeout(0);
}

/** Closes a socket once what was written to it is flushed. */
function endSoon(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/**
 * A response for a request that arrived through the `upgrade` event, so middleware can refuse it
 * with an ordinary HTTP response. The connection closes after the response.
 */
export function upgradeResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', closeAfterResponse);
  return res;
}

/** After a refusal: the connection carries nothing more. (An accepted one is detached first.) */
function closeAfterResponse(this: ServerResponse): void {
  const socket = this.socket;
  if (!socket) return;
  this.detachSocket(socket);
  endSoon(socket);
}

/**
 * Ends the HTTP side of an upgrade request that was accepted: the response lets go of the socket
 * (nothing else can be written through it) and counts as finished with status 101, as the
 * exchange is. Listeners waiting for it to finish (`on-finished`: Koa, morgan) fire now rather
 * than hold the framework's request objects for the life of the connection. Node's own
 * `resOnFinish` (request path) must not run: it would manage a socket the server gave up.
 */
export function finishUpgradeResponse(res: ServerResponse, socket: Socket): void {
  if (res.socket === socket) res.detachSocket(socket);
  for (const listener of res.listeners('finish')) {
    if (listener.name === 'bound resOnFinish') {
      res.removeListener('finish', listener as () => void);
    }
  }
  res.statusCode = 101;
  res.emit('finish');
  res.emit('close');
}

/** Answers an upgrade request with a plain HTTP response and closes the connection after it. */
export function respond(res: ServerResponse, refusal: Refusal): void {
  // Already answered (by middleware, say): that response stands.
  if (res.headersSent) return;
  const body = refusal.body ?? STATUS_CODES[refusal.status] ?? '';
  res.shouldKeepAlive = false;
  res.writeHead(refusal.status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...refusal.headers,
  });
  res.end(body);
}
