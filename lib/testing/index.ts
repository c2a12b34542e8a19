/**
 * `wsgate/testing`: a WebSocket client for tests that connects to an Express or Koa app (or any
 * request listener) in memory, through the app's real middleware, routes and wsgate's real
 * handshake, without a port or a listening server.
 */
export {
  type ConnectOptions,
  connect,
  type RequestListener,
  type TestedApp,
} from './connect.js';
export { WebSocketRefused } from './errors.js';
export type { CloseInfo } from './inbox.js';
export type { TestWebSocket } from './test-websocket.js';
