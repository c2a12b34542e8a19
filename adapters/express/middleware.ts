import type { NextFunction, Request, Response } from 'express-serve-static-core';
import { asPlugin, Gateway, type WebSocketPluginOptions } from '../../lib/server/index.js';
import { shapeRequest } from './request-shape.js';
import type { WebSocketMiddleware } from './types.js';

/**
 * Creates the WebSocket plugin: an Express middleware to install with `app.use()` before your
 * routes, which also carries `.clients`, `.close()` and `.attach()`.
 *
 * For each WebSocket upgrade request it checks the handshake (and the `origins` option), refusing
 * a bad one with an HTTP error; otherwise it opens a connecting socket for the request and lets it
 * continue through the app, so later middleware (cookies, sessions, auth) runs before the
 * handshake completes and a `.websocket(path, ...)` route can take it. Other requests pass through
 * untouched.
 *
 * @example
 * ```ts
 * const sockets = websocket({ maxPayload: 64 * 1024 });
 * app.use(sockets);
 * app.websocket('/echo', async (socket) => {
 *   await socket.accept();
 *   for await (const text of socket.iterText()) await socket.sendText(text);
 * });
 * ```
 */
export function websocket(options?: WebSocketPluginOptions): WebSocketMiddleware {
  const gateway = new Gateway(options, shapeRequest);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // An upgrade it takes is recorded on the request for the .websocket() routes (upgradeOf).
    // null: refused here (bad handshake, origin, shutting down), the response is already sent.
    if (gateway.open(req, res, req.originalUrl) !== null) next();
  };
  return asPlugin(middleware, gateway);
}
