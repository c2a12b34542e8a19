import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';
import { splitRoute } from '../../lib/server/index.js';
import { pathMatcher, routeMiddleware } from './routes.js';
import type { WebSocketHandler, WebSocketRouteMiddleware } from './types.js';

type RouteMiddleware = WebSocketRouteMiddleware<Context>;
type RouteHandler = WebSocketHandler<Context>;

type Use = (middleware: (ctx: Context, next: () => Promise<unknown>) => unknown) => unknown;
type Get = (
  path: unknown,
  middleware: (ctx: Context, next: () => Promise<unknown>) => unknown,
) => unknown;

function routeName(owner: string, path: unknown): string {
  return `${owner}.websocket(${typeof path === 'string' ? `'${path}'` : String(path)})`;
}

/** `app.websocket(path, ...middleware, handler)`: one `app.use()` middleware matching `path`. */
function appWebsocket(this: { use: Use }, path: string | string[], ...handlers: unknown[]) {
  if (typeof path !== 'string' && !Array.isArray(path)) {
    throw new TypeError('app.websocket(path, ...): path must be a string or an array of strings');
  }
  const { middleware, handler } = splitRoute<RouteMiddleware, RouteHandler>(
    'app.websocket',
    handlers,
  );
  this.use(routeMiddleware(routeName('app', path), pathMatcher(path), middleware, handler));
  return this;
}

/** `router.websocket(path, ...middleware, handler)`: one `router.get(path)` route. */
function routerWebsocket(this: { get: Get }, path: unknown, ...handlers: unknown[]) {
  const { middleware, handler } = splitRoute<RouteMiddleware, RouteHandler>(
    'router.websocket',
    handlers,
  );
  this.get(path, routeMiddleware(routeName('router', path), undefined, middleware, handler));
  return this;
}

function define(target: unknown, method: (...args: never[]) => unknown): void {
  if (typeof target !== 'function' || typeof target.prototype !== 'object') return;
  Object.defineProperty(target.prototype, 'websocket', {
    value: method,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/** Gives Koa applications their `.websocket()` method. */
export function installApplication(Application: unknown): void {
  define(Application, appWebsocket);
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/** The router class of a loaded `@koa/router` module (CommonJS or ESM namespace). */
function routerClass(loaded: unknown): unknown {
  if (typeof loaded === 'function') return loaded;
  const module = loaded as { Router?: unknown; default?: unknown } | null;
  return module?.Router ?? module?.default;
}

/**
 * Gives `@koa/router` routers their `.websocket()` method, when @koa/router is installed. Its
 * CommonJS and ESM builds are two different classes (v15 ships both), so both are patched; the
 * ESM build is loaded through `require(esm)`, which shares the instance `import` gets, so this
 * stays synchronous (no top-level await: CommonJS users `require('wsgate/koa')`).
 */
export function installRouter(): void {
  const require = createRequire(import.meta.url);
  const loaders: Array<() => unknown> = [() => require('@koa/router')];
  if (typeof import.meta.resolve === 'function') {
    loaders.push(() => {
      const url = import.meta.resolve('@koa/router');
      return url.startsWith('file:') ? require(fileURLToPath(url)) : undefined;
    });
  }
  for (const load of loaders) {
    let loaded: unknown;
    try {
      loaded = load();
    } catch (error) {
      if (isNotFound(error)) continue;
      throw error;
    }
    define(routerClass(loaded), routerWebsocket);
  }
}
