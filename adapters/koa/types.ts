// The Router and RouterContext named here must be the ones the consumer's own code imports:
// `npm run build` also writes this folder's declarations as .d.cts for CommonJS consumers
// (scripts/require-types.mjs says why).
import type { Router, RouterContext } from '@koa/router';
import type Koa from 'koa';
import type { DefaultContext, DefaultState, Middleware, Next, ParameterizedContext } from 'koa';
import type { WebSocket, WebSocketPlugin } from '../../lib/server/index.js';

declare module 'koa' {
  interface DefaultContext {
    /**
     * The request's WebSocket (added by `import 'wsgate/koa'`): set by `app.use(websocket())` on
     * a WebSocket upgrade request, still connecting, so middleware can route by hand
     * (`if (ctx.websocket && ctx.path === '/x') await ctx.websocket.accept()`); `undefined` on
     * every other request.
     */
    websocket?: WebSocket;
  }
}

/**
 * What `websocket(options)` returns: the Koa middleware to `app.use()` before your routes, which
 * also carries the plugin's `clients`, `close()` and `attach()`.
 */
export type WebSocketMiddleware = Middleware & WebSocketPlugin;

/** What a WebSocket route adds to the context: the socket (always there) and the route params. */
export interface WebSocketRouteContext {
  /** The upgrade request's socket, still connecting when the route's middleware runs. */
  websocket: WebSocket;
  /** The route parameters (`/rooms/:room` → `{ room }`), also in `socket.params`. */
  params: Record<string, string>;
}

/** The context of an `app.websocket(...)` route's middleware and handler. */
export type WebSocketContext<
  StateT = DefaultState,
  ContextT = DefaultContext,
> = ParameterizedContext<StateT, ContextT> & WebSocketRouteContext;

/**
 * The context of a `router.websocket(...)` route's middleware and handler: @koa/router's
 * `RouterContext` (so it can be passed where one is expected) with the socket.
 */
export type WebSocketRouterContext<
  StateT = DefaultState,
  ContextT = DefaultContext,
> = RouterContext<StateT, ContextT> & WebSocketRouteContext;

/**
 * A WebSocket route's handler: called with the still-connecting socket and the Koa context once
 * the route's middleware has passed it on. Call `socket.accept()` to complete the handshake;
 * returning (or throwing) settles the connection as the lifecycle table says. May be async.
 */
export type WebSocketHandler<Ctx = WebSocketContext> = (socket: WebSocket, ctx: Ctx) => unknown;

/**
 * A Koa middleware in a WebSocket route, before the handler. It refuses the upgrade the Koa way
 * (`ctx.status = 401; ctx.body = ...`, or `ctx.throw(403)`) by not calling `next()`.
 */
export type WebSocketRouteMiddleware<Ctx = WebSocketContext> = (ctx: Ctx, next: Next) => unknown;

/**
 * The arguments after the path of `.websocket(path, ...middleware, handler)`: any number of Koa
 * middleware, then the handler.
 */
export type WebSocketRouteHandlers<Ctx> = [
  ...middleware: Array<WebSocketRouteMiddleware<Ctx>>,
  handler: WebSocketHandler<Ctx>,
];

/** The `.websocket()` method `import 'wsgate/koa'` gives Koa applications. */
export interface KoaWebSocketRoutes<StateT = DefaultState, ContextT = DefaultContext> {
  /**
   * Adds a WebSocket route: upgrade requests that `app.use(websocket())` took and whose path
   * matches `path` (the syntax of @koa/router, fills `ctx.params` and `socket.params`) run through
   * `middleware`, then `handler(socket, ctx)`. Other requests (a plain GET) go on to the next
   * middleware. Add it after `app.use(websocket())`.
   */
  websocket(
    path: string | string[],
    ...handlers: WebSocketRouteHandlers<WebSocketContext<StateT, ContextT>>
  ): this;
}

/** The `.websocket()` method `import 'wsgate/koa'` gives @koa/router routers. */
export interface RouterWebSocketRoutes<StateT = DefaultState, ContextT = DefaultContext> {
  /**
   * Adds a WebSocket route to the router, as `router.get(path, ...)` would (with the router's
   * prefix, params and nesting): upgrade requests that `app.use(websocket())` took run through
   * `middleware`, then `handler(socket, ctx)`; a plain GET falls through to the next matching
   * route.
   */
  websocket(
    path: string | RegExp | Array<string | RegExp>,
    ...handlers: WebSocketRouteHandlers<WebSocketRouterContext<StateT, ContextT>>
  ): this;
}

/** A Koa application typed with its `.websocket()` method. */
export type WebSocketApplication<StateT = DefaultState, ContextT = DefaultContext> = Koa<
  StateT,
  ContextT
> &
  KoaWebSocketRoutes<StateT, ContextT>;

/** An @koa/router router typed with its `.websocket()` method. */
export type WebSocketRouter<StateT = DefaultState, ContextT = DefaultContext> = Router<
  StateT,
  ContextT
> &
  RouterWebSocketRoutes<StateT, ContextT>;
