import type {
  ParamsDictionary,
  Request,
  RequestHandler,
  RouteParameters,
} from 'express-serve-static-core';
import type { WebSocket, WebSocketPlugin } from '../../lib/server/index.js';

/**
 * A WebSocket route's handler: called with the still-connecting socket and the Express request
 * once the route's middleware has passed it. Call `socket.accept()` to complete the handshake;
 * returning (or throwing) settles the connection as the lifecycle table says. May be async.
 *
 * @typeParam P - the route parameters (`req.params`), inferred from the path.
 */
export type WebSocketHandler<P = ParamsDictionary> = (
  socket: WebSocket,
  req: Request<P>,
) => unknown;

/**
 * What `websocket(options)` returns: the Express middleware to `app.use()`, which also carries
 * the plugin's `clients`, `close()` and `attach()`.
 */
export interface WebSocketMiddleware extends RequestHandler, WebSocketPlugin {}

/**
 * The arguments after the path of `.websocket(path, ...middleware, handler)`: any number of
 * Express middleware, then the handler.
 */
export type WebSocketRouteHandlers<P> = [
  ...middleware: Array<RequestHandler<P>>,
  handler: WebSocketHandler<P>,
];

declare module 'express-serve-static-core' {
  interface IRouter {
    /**
     * Adds a WebSocket route (added by `import 'wsgate/express'`): WebSocket upgrade requests
     * that `app.use(websocket())` took and that match `path` run through `middleware`, then
     * `handler(socket, req)`. A middleware can refuse with any HTTP response or `next(err)`.
     * Other requests (a plain GET) fall through to the next matching route. Path syntax and
     * `req.params` are Express's own; `socket.params` holds the same parameters.
     */
    websocket<Route extends string | RegExp>(
      path: Route,
      ...handlers: WebSocketRouteHandlers<RouteParameters<Route>>
    ): this;
    /** Adds a WebSocket route for each of several paths (see the single-path form). */
    websocket(
      path: Array<string | RegExp>,
      ...handlers: WebSocketRouteHandlers<ParamsDictionary>
    ): this;
  }
}
