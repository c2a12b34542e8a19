import { WebSocketDisconnect } from '../errors.js';
import { WebSocketState } from '../state.js';
import type { WebSocket } from '../websocket.js';
import type { Gateway, Upgrade } from './gateway.js';
import type { WsTransport } from './ws-transport.js';

/** What to do when a handler settles without accepting or refusing. */
export type Unanswered =
  /** Refuse with HTTP 403 (a route's handler returned without accepting). */
  | 'refuse'
  /** Leave the answer to the framework (Koa hand routing: its 404 or the status middleware set). */
  | 'leave';

/**
 * Runs a route's handler and settles the connection as the contract's lifecycle table says:
 * returning while connected closes with 1000; returning unanswered refuses with 403 (or leaves
 * it to the framework); a `WebSocketDisconnect` escaping is a normal end; any other error after
 * accept closes with 1011 and goes to `onError`.
 *
 * The returned promise is the framework's: it settles as soon as the handshake is answered
 * (the HTTP exchange is over at the 101) or the handler ended before that, and rejects only with
 * an error the handler threw before accepting, for the framework's error handling (HTTP 500).
 * The handler runs on by itself; nothing here keeps the framework's request objects alive.
 */
export function runHandler(
  upgrade: Upgrade,
  handler: () => unknown,
  unanswered: Unanswered = 'refuse',
): Promise<void> {
  let result: unknown;
  try {
    result = handler();
  } catch (error) {
    result = Promise.reject(error);
  }
  const settled = settle(upgrade.gateway, upgrade.socket, upgrade.transport, result, unanswered);
  return Promise.race([settled, upgrade.transport.answered()]);
}

async function settle(
  gateway: Gateway,
  socket: WebSocket,
  transport: WsTransport,
  result: unknown,
  unanswered: Unanswered,
): Promise<void> {
  try {
    await result;
  } catch (error) {
    if (socket.applicationState === WebSocketState.CONNECTING) {
      // The framework answers it (500), unless someone answered the request already.
      if (transport.pending) throw error;
      gateway.reportError(error);
      return;
    }
    if (error instanceof WebSocketDisconnect) return;
    if (socket.applicationState === WebSocketState.CONNECTED) {
      await socket.close(1011).catch(() => {});
    }
    gateway.reportError(error);
    return;
  }
  if (socket.applicationState === WebSocketState.CONNECTED) {
    await socket.close(1000).catch(() => {});
  } else if (socket.applicationState === WebSocketState.CONNECTING && unanswered === 'refuse') {
    await socket.close().catch(() => {});
  }
}
