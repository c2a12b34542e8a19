import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Refusal } from './handshake.js';

/**
 * Taking a connection away from Node's HTTP server. On the `upgrade` event path Node has already
 * done it; on the request path (a server with no `upgrade` listener hands upgrade requests to its
 * `request` handler) the server still owns the socket: its parser would read WebSocket frames as
 * HTTP and its request/headers timeouts would answer 408 into the WebSocket stream. Node exposes
 * no API for this, so we undo what `connectionListenerInternal` set up, the way Node does before
 * it emits `upgrade` (lib/_http_server.js, `onParserExecuteCommon`).
 *
 * Those are private names, and they change between Node lines. So everything is looked up and
 * checked when the upgrade request arrives, before anything is changed: when a piece is missing
 * the request is refused with 500 and the error names the Node version and the piece (see
 * {@link NodeInternalsError}); a connection is never left half taken over. `attach()` needs none
 * of this: on the `upgrade` event path only public API is used.
 */

/** Node's per-connection listeners on the socket, by event, under each name a Node line gives. */
const SERVER_LISTENERS: ReadonlyArray<readonly [event: string, names: readonly string[]]> = [
  ['data', ['bound socketOnData']],
  ['end', ['bound socketOnEnd']],
  ['close', ['bound socketOnClose']],
  ['drain', ['bound socketOnDrain']],
  ['error', ['socketOnError']],
  ['timeout', ['socketOnTimeout']],
];

/** Present only while the parser reads the socket's handle itself (`parser._consumed`). */
const CONSUMING_LISTENERS: ReadonlyArray<readonly [event: string, names: readonly string[]]> = [
  ['resume', ['onSocketResume']],
  ['pause', ['onSocketPause']],
];

const ALL_LISTENERS = [...SERVER_LISTENERS, ...CONSUMING_LISTENERS];

/**
 * The response's `finish` listener, which would manage (and, without keep-alive, close) a socket
 * the server gave up: a bound `resOnFinish` per request (Node 20–24), one shared
 * `onResponseFinish` (Node 26).
 */
const RESPONSE_FINISH: readonly string[] = ['bound resOnFinish', 'onResponseFinish'];

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

type Listener = (...args: unknown[]) => void;
type ServerSocket = Socket & { parser?: HttpParser | null };
/** `upgrade` is Node's own flag: true on the `upgrade` event path, false on the request path. */
type NodeRequest = IncomingMessage & { upgrade?: boolean };

/**
 * Node.js does not look the way the request-path takeover expects (a private name changed in a
 * new release line). The upgrade is refused with HTTP 500 and this goes to `onError`.
 */
export class NodeInternalsError extends Error {
  /** What was not found, e.g. `response 'finish' listener (bound resOnFinish | onResponseFinish)`. */
  readonly missing: readonly string[];

  constructor(missing: readonly string[]) {
    super(
      `wsgate cannot take this connection from the HTTP server of Node.js ${process.version}: ` +
        `not found: ${missing.join('; ')}. Use sockets.attach(server), which receives upgrades ` +
        `through the server's 'upgrade' event and needs none of these.`,
    );
    this.name = 'NodeInternalsError';
    this.missing = missing;
  }
}

function findListener(
  emitter: NodeJS.EventEmitter,
  event: string,
  names: readonly string[],
): Listener | undefined {
  for (const listener of emitter.listeners(event)) {
    if (names.includes(listener.name)) return listener as Listener;
  }
  return undefined;
}

/**
 * What Node's HTTP server holds of one request-path connection, found and checked in full
 * (see {@link takeoverOf}); {@link detach} then makes the socket a plain socket again.
 */
export class ServerTakeover {
  readonly #socket: ServerSocket;
  readonly #parser: HttpParser;
  readonly #listeners: ReadonlyArray<readonly [string, Listener]>;
  /** Node's `finish` listener on the response, removed by `finishUpgradeResponse`. */
  readonly finishListener: Listener;

  constructor(
    socket: ServerSocket,
    parser: HttpParser,
    listeners: ReadonlyArray<readonly [string, Listener]>,
    finishListener: Listener,
  ) {
    this.#socket = socket;
    this.#parser = parser;
    this.#listeners = listeners;
    this.finishListener = finishListener;
  }

  /** Detaches the socket from the HTTP server, as Node does before emitting `upgrade`. */
  detach(): void {
    const socket = this.#socket;
    for (const [event, listener] of this.#listeners) socket.removeListener(event, listener);
    const parser = this.#parser;
    // Checked when found; a `data` listener added since may have unconsumed it already.
    if (parser._consumed) parser.unconsume?.();
    parser._consumed = false;
    // Leaves the server's connection list, so requestTimeout/headersTimeout stop applying.
    parser.remove?.();
    parser.socket = null;
    parser.incoming = null;
    parser.onIncoming = null;
    socket.parser = null;
    // Freed once the stack that may still be inside the parser has unwound.
    setImmediate(() => parser.close?.());
    // The server's idle timeout (`server.timeout`, keepAliveTimeout) no longer applies.
    socket.setTimeout(0);
  }
}

/**
 * Looks up what taking `req`'s connection from the HTTP server will need: `undefined` when Node
 * already handed it over (the `upgrade` event path) or the client is gone; throws
 * {@link NodeInternalsError} naming every missing piece, having changed nothing.
 */
export function takeoverOf(req: IncomingMessage, res: ServerResponse): ServerTakeover | undefined {
  if ((req as NodeRequest).upgrade === true) return undefined;
  const socket = req.socket as ServerSocket;
  if (socket.destroyed) return undefined;
  const missing: string[] = [];
  const parser = socket.parser;
  if (!parser) missing.push('socket.parser');
  else {
    if (typeof parser.remove !== 'function') missing.push('parser.remove()');
    if (typeof parser.close !== 'function') missing.push('parser.close()');
    if (parser._consumed && typeof parser.unconsume !== 'function') {
      missing.push('parser.unconsume()');
    }
  }
  const wanted = parser?._consumed ? ALL_LISTENERS : SERVER_LISTENERS;
  const listeners: Array<readonly [string, Listener]> = [];
  for (const [event, names] of wanted) {
    const listener = findListener(socket, event, names);
    if (listener) listeners.push([event, listener]);
    else missing.push(`socket '${event}' listener (${names.join(' | ')})`);
  }
  const finish = findListener(res, 'finish', RESPONSE_FINISH);
  if (!finish) missing.push(`response 'finish' listener (${RESPONSE_FINISH.join(' | ')})`);
  if (missing.length > 0 || !parser || !finish) throw new NodeInternalsError(missing);
  return new ServerTakeover(socket, parser, listeners, finish);
}

/** Who is told when someone else starts answering an upgrade request. */
export interface ResponseWatcher {
  release(): unknown;
}

interface Watch {
  watcher: ResponseWatcher | undefined;
  /** The `writeHead` the response had before (its prototype's, or another wrapper). */
  readonly writeHead: ServerResponse['writeHead'];
}

/**
 * The watches, beside the responses rather than on them: on Express each property added to a
 * response costs a new hidden class (see `upgrades` in gateway.ts), so `writeHead` is the only one.
 */
const watches = new WeakMap<ServerResponse, Watch>();

/**
 * Whoever starts writing the HTTP response to an upgrade request (middleware refusing it, the
 * framework's 404 or error handler) answers the handshake: `watcher.release()` runs first, so
 * the handshake timeout or a shutdown cannot write a second response over it. `writeHead` is
 * where every response starts (Node calls it for implicit headers too); the hook wraps whatever
 * `writeHead` the response has, as `on-headers` does. No public event fires before the head.
 */
export function watchResponse(res: ServerResponse, watcher: ResponseWatcher): void {
  watches.set(res, { watcher, writeHead: res.writeHead });
  res.writeHead = watchedWriteHead as ServerResponse['writeHead'];
}

/** Stops telling the watcher (the handshake was accepted: nothing more is written). */
export function unwatchResponse(res: ServerResponse): void {
  const watch = watches.get(res);
  if (watch) watch.watcher = undefined;
}

// Shared by every watched response (no closure per handshake).
function watchedWriteHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
  const watch = watches.get(this) as Watch;
  const watcher = watch.watcher;
  watch.watcher = undefined;
  watcher?.release();
  return (watch.writeHead as (...args: unknown[]) => ServerResponse).apply(this, args);
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
  ownWrittenFields(res);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', closeAfterResponse);
  return res;
}

/**
 * Makes own, with the values they already have, the two properties the plugin writes on an
 * upgrade's response later (`watchResponse`, `finishUpgradeResponse`; Node keeps `statusCode` and
 * `writeHead` on the prototype): on Express, adding them after it re-prototypes `res` would give
 * every response a hidden class of its own (see adapters/express/request-shape.ts).
 */
export function ownWrittenFields(res: ServerResponse): void {
  res.statusCode = 200;
  res.writeHead = ServerResponse.prototype.writeHead;
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
 * than hold the framework's request objects for the life of the connection. Node's own `finish`
 * listener (request path) must not run: it would manage a socket the server gave up.
 */
export function finishUpgradeResponse(
  res: ServerResponse,
  socket: Socket,
  takeover: ServerTakeover | undefined,
): void {
  if (res.socket === socket) res.detachSocket(socket);
  if (takeover) res.removeListener('finish', takeover.finishListener);
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

/**
 * Refuses an upgrade that cannot be taken over (see {@link NodeInternalsError}) with 500. Node's
 * `finish` listener, which would close the connection, may be what is missing: close it here too.
 */
export function refuseUntakeable(res: ServerResponse): void {
  res.once('finish', closeAfterResponse);
  respond(res, { status: 500 });
}
