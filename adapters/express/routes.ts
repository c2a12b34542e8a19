import type { IncomingMessage } from 'node:http';
import type {
  NextFunction,
  ParamsDictionary,
  PathParams,
  Request,
  RequestHandler,
  Response,
} from 'express-serve-static-core';
import {
  isWebSocketUpgrade,
  missingPlugin,
  runHandler,
  splitRoute,
  upgradeOf,
} from '../../lib/server/index.js';
import { learnShape } from './request-shape.js';
import type { WebSocketHandler } from './types.js';

/** What `.websocket()` needs from an application or router: its public `get`. */
interface Routable {
  get(path: PathParams, ...handlers: unknown[]): unknown;
}

/** The parts of the `express` module the routes are installed on. */
export interface ExpressModule {
  application: object;
  Router: (...args: never[]) => unknown;
}

/** An upgrade the plugin did not take leaves the route: to the next one, or as an error. */
function notTaken(req: IncomingMessage, next: NextFunction): void {
  if (isWebSocketUpgrade(req)) next(missingPlugin(`the .websocket() route for ${req.url}`));
  // A plain GET to this path: the next matching route serves it.
  else next('route');
}

/** First in a chain with middleware: lets only upgrades taken by the plugin into the route. */
function guard(req: IncomingMessage, _res: unknown, next: NextFunction): void {
  if (upgradeOf(req) !== undefined) next();
  else notTaken(req, next);
}

/** Route parameters as `socket.params` holds them: a wildcard's segments joined with `/`. */
function flatParams(params: ParamsDictionary): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') flat[name] = value;
    else if (Array.isArray(value)) flat[name] = value.join('/');
  }
  return flat;
}

/** Last in the chain (alone without middleware): runs the handler under the lifecycle rules. */
function final(handler: WebSocketHandler): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const upgrade = upgradeOf(req);
    if (upgrade === undefined) {
      notTaken(req, next);
      return;
    }
    learnShape(req);
    const { socket } = upgrade;
    upgrade.setParams(flatParams(req.params));
    // Rejects only with an error thrown before accept(): Express's error handling answers it.
    runHandler(upgrade, () => handler(socket, req), 'refuse').catch(next);
  };
}

/** `app.websocket(path, ...middleware, handler)` and `router.websocket(...)`. */
function websocketRoute(this: Routable, path: PathParams, ...handlers: unknown[]): unknown {
  const { middleware, handler } = splitRoute<unknown, WebSocketHandler>('.websocket', handlers);
  // Without middleware the handler checks for itself: one layer less in Express's route.
  if (middleware.length === 0) return this.get(path, final(handler));
  return this.get(path, guard, ...middleware, final(handler));
}

/**
 * Gives every application and router of `framework` (the `express` module, 4 or 5) a
 * `.websocket()` method. Applications copy their methods when created, so this must run before
 * `express()` is called.
 */
export function installRoutes(framework: ExpressModule): void {
  const descriptor: PropertyDescriptor = {
    value: websocketRoute,
    writable: true,
    configurable: true,
    enumerable: false,
  };
  Object.defineProperty(framework.application, 'websocket', descriptor);
  // Express 5 routers inherit from `Router.prototype` (the `router` package); Express 4 ones
  // from the `Router` function itself.
  const { Router } = framework;
  const prototype: { route?: unknown } | undefined = Router.prototype;
  const routerProto = typeof prototype?.route === 'function' ? prototype : Router;
  Object.defineProperty(routerProto, 'websocket', descriptor);
}
