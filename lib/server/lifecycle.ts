import { WebSocketDisconnect } from '../errors.js';
import { WebSocketState } from '../state.js';
import type { WebSocket } from '../websocket.js';
import type { Gateway } from './gateway.js';

/** What to do when a handler settles without accepting or refusing. */
export type Unanswered =
  /** Refuse with HTTP 403 (a route's handler returned without accepting). */
  | 'refuse'
  /** Leave the answer to the framework (Koa hand routing: its 404 or the status middleware set). */
  | 'leave';

/**
 * Runs a handler for `socket` and settles the connection as the contract's lifecycle table says:
 * returning while connected closes with 1000; returning unanswered refuses with 403 (or leaves
 * it); a `WebSocketDisconnect` escaping is a normal end; any other error after accept closes with
 * 1011 and goes to `onError`. Rejects only with an error thrown before accept, which belongs to
 * the framework's error handling (HTTP 500).
 */
export async function runHandler(
  gateway: Gateway,
  socket: WebSocket,
  handler: () => unknown,
  unanswered: Unanswered = 'refuse',
): Promise<void> {
  try {
    await handler();
  } catch (error) {
    if (socket.applicationState === WebSocketState.CONNECTING) throw error;
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
