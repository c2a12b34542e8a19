/**
 * `wsgate/koa`: WebSocket endpoints for Koa 3 (and 2).
 *
 * Importing this module gives every Koa application, and every `@koa/router` router when
 * @koa/router is installed, a `.websocket(path, ...middleware, handler)` method, and types
 * `ctx.websocket`; `websocket(options)` creates the middleware that must be installed with
 * `app.use()` before those routes.
 *
 * @packageDocumentation
 */
import type { Router } from '@koa/router';
import Koa from 'koa';
import { installApplication, installRouter } from './install.js';
import type { KoaWebSocketRoutes, RouterWebSocketRoutes } from './types.js';

installApplication(Koa);
installRouter();

/**
 * Returns `target` itself (a Koa application, a subclass, an @koa/router router), typed with its
 * `.websocket()` method. The method is there at run time as soon as `wsgate/koa` is imported, but
 * TypeScript cannot add members to Koa's `Application` class (its types use `export =`) nor to
 * @koa/router's `Router` (its class is not exported), so TypeScript code goes through this helper
 * once: `const app = withWebSocket(new Koa())`. Throws a `TypeError` if `target` has no
 * `.websocket()` (not a Koa application, or a router of an @koa/router wsgate could not load).
 */
export function withWebSocket<StateT, ContextT, App extends Koa<StateT, ContextT>>(
  app: App & Koa<StateT, ContextT>,
): App & KoaWebSocketRoutes<StateT, ContextT>;
export function withWebSocket<StateT, ContextT, R extends Router<StateT, ContextT>>(
  router: R & Router<StateT, ContextT>,
): R & RouterWebSocketRoutes<StateT, ContextT>;
export function withWebSocket(target: object): object {
  if (typeof (target as { websocket?: unknown }).websocket !== 'function') {
    throw new TypeError(
      'wsgate/koa: withWebSocket() takes a Koa application or an @koa/router router ' +
        '(installed where wsgate can load it)',
    );
  }
  return target;
}

export type {
  AttachOptions,
  HeartbeatOptions,
  OriginPolicy,
  PresenceDiff,
  PresenceListener,
  WebSocket,
  WebSocketPlugin,
  WebSocketPluginOptions,
} from '../../lib/server/index.js';
export { websocket } from './middleware.js';
export type {
  KoaWebSocketRoutes,
  RouterWebSocketRoutes,
  WebSocketApplication,
  WebSocketContext,
  WebSocketHandler,
  WebSocketMiddleware,
  WebSocketRouteContext,
  WebSocketRouteHandlers,
  WebSocketRouteMiddleware,
  WebSocketRouter,
  WebSocketRouterContext,
} from './types.js';
