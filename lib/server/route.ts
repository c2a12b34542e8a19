/** The parts of `.websocket(path, ...middleware, handler)` every adapter checks the same way. */
export interface RouteParts<Middleware, Handler> {
  middleware: Middleware[];
  handler: Handler;
}

/**
 * Splits `.websocket()`'s arguments after the path into middleware and the handler, throwing a
 * `TypeError` naming `method` unless all are functions and there is a handler.
 */
export function splitRoute<Middleware, Handler>(
  method: string,
  handlers: readonly unknown[],
): RouteParts<Middleware, Handler> {
  const handler = handlers.at(-1);
  if (typeof handler !== 'function') {
    throw new TypeError(
      `wsgate: ${method}(path, ...middleware, handler) needs a handler function last`,
    );
  }
  const middleware = handlers.slice(0, -1);
  if (middleware.some((item) => typeof item !== 'function')) {
    throw new TypeError(
      `wsgate: ${method}(path, ...middleware, handler): middleware must be functions`,
    );
  }
  return { middleware: middleware as Middleware[], handler: handler as Handler };
}

/** The error for an upgrade that reached a WebSocket route no plugin took. */
export function missingPlugin(route: string): Error {
  return new Error(
    `wsgate: a WebSocket upgrade request reached ${route}, but no websocket() plugin took it. ` +
      'Install it before your WebSocket routes: app.use(websocket()).',
  );
}
