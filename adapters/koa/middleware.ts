import type { Context, Next } from 'koa';
import {
  asPlugin,
  Gateway,
  runHandler,
  type WebSocket,
  type WebSocketPluginOptions,
  WebSocketState,
} from '../../lib/server/index.js';
import type { WebSocketMiddleware } from './types.js';

/**
 * Once wsgate has answered the handshake (accepted it, or refused it with its own HTTP
 * response), Koa must write nothing more: no 404, no 500 into an upgraded stream. The status
 * becomes 101 for an upgraded connection, so loggers and `ctx.status === 404` checks upstream
 * see what happened.
 */
export function settle(ctx: Context, socket: WebSocket): void {
  if (socket.applicationState === WebSocketState.CONNECTING) return;
  ctx.respond = false;
  // Explicit, so an upstream `ctx.body = …` keeps it (Koa would otherwise make it 200).
  if (!ctx.res.headersSent) ctx.status = 101;
}

/**
 * Koa reports the errors of the request's socket (through `on-finished`) as application errors
 * and logs them. On an upgrade request a client that resets or aborts its connection is not one:
 * the transport already handles it, and there is nobody left to answer.
 */
function quietConnectionErrors(ctx: Context): void {
  const raw = ctx.req.socket;
  const onerror = ctx.onerror;
  ctx.onerror = function (this: Context, error: Error) {
    // Koa also calls it with `null` when the response finished: let that through.
    if (error != null && error === raw.errored) return;
    onerror.call(this, error);
  };
}

/**
 * Creates the WebSocket plugin: a Koa middleware to install with `app.use()` before your routes,
 * which also carries `.clients`, `.close()` and `.attach()`.
 *
 * For each WebSocket upgrade request it checks the handshake (and the `origins` option), refusing
 * a bad one with an HTTP error; otherwise it sets `ctx.websocket` to a connecting socket and runs
 * the rest of the app, so later middleware (sessions, auth) runs before the handshake completes
 * and `app.websocket(...)`, `router.websocket(...)` or your own middleware can take it. When the
 * chain settles, a socket still open is closed with 1000; one nobody answered gets Koa's own
 * response (404, or what middleware set). Other requests pass through untouched.
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
  const gateway = new Gateway(options);
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    const upgrade = gateway.open(ctx.req, ctx.res, ctx.originalUrl);
    if (upgrade === undefined) {
      await next();
      return;
    }
    quietConnectionErrors(ctx);
    // Refused here (bad handshake, origin, shutting down): the response is already sent.
    if (upgrade === null) {
      ctx.respond = false;
      return;
    }
    const { socket } = upgrade;
    ctx.websocket = socket;
    try {
      await runHandler(upgrade, next, 'leave');
    } finally {
      settle(ctx, socket);
      // Nobody accepted or refused it through wsgate: Koa answers (404, or what middleware
      // set), and wsgate must not answer over it (handshake timeout, shutdown).
      upgrade.release();
    }
  };
  return asPlugin(middleware, gateway);
}
