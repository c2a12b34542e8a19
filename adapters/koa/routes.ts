import type { Context, Next } from 'koa';
import compose from 'koa-compose';
import { pathToRegexp } from 'path-to-regexp';
import {
  isWebSocketUpgrade,
  missingPlugin,
  runHandler,
  upgradeOf,
  WebSocketState,
} from '../../lib/server/index.js';
import { settle } from './middleware.js';
import type { WebSocketHandler, WebSocketRouteMiddleware } from './types.js';

type AnyMiddleware = WebSocketRouteMiddleware<Context>;
type AnyHandler = WebSocketHandler<Context>;

/** Matches a request path and returns its params, or `undefined` when it does not match. */
type Matcher = (path: string) => Record<string, string> | undefined;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The matcher `app.websocket(path)` uses: path-to-regexp v8 with @koa/router's defaults
 * (case-insensitive, whole path, optional trailing slash) and its params (decoded, empty
 * captures left out).
 */
export function pathMatcher(path: string | string[]): Matcher {
  const { regexp, keys } = pathToRegexp(path, { sensitive: false, end: true, trailing: true });
  return (requestPath) => {
    const match = regexp.exec(requestPath);
    if (match === null) return undefined;
    const params: Record<string, string> = {};
    keys.forEach((key, index) => {
      const value = match[index + 1];
      if (value) params[key.name] = safeDecode(value);
    });
    return params;
  };
}

/**
 * One WebSocket route as a single Koa middleware: requests that are not WebSocket upgrades (and
 * paths `match` rejects) go on to `next`; an upgrade taken by `websocket()` runs `middleware`,
 * then the handler under the lifecycle rules (returning unanswered refuses with 403).
 */
export function routeMiddleware(
  description: string,
  match: Matcher | undefined,
  middleware: AnyMiddleware[],
  handler: AnyHandler,
): (ctx: Context, next: Next) => Promise<unknown> {
  const final = async (ctx: Context): Promise<void> => {
    const upgrade = upgradeOf(ctx.req);
    if (upgrade === undefined) return;
    const { socket } = upgrade;
    await runHandler(upgrade, () => handler(socket, ctx), 'refuse');
    settle(ctx, socket);
  };
  const chain = compose<Context>([...middleware, final]);
  return async (ctx, next) => {
    const upgrade = upgradeOf(ctx.req);
    if (upgrade === undefined) {
      if (isWebSocketUpgrade(ctx.req)) throw missingPlugin(description);
      return next();
    }
    // An earlier route already answered it.
    if (upgrade.socket.applicationState !== WebSocketState.CONNECTING) return next();
    let params: Record<string, string> | undefined = ctx.params;
    if (match !== undefined) {
      params = match(ctx.path);
      if (params === undefined) return next();
      ctx.params = params;
    }
    upgrade.setParams({ ...params });
    return chain(ctx);
  };
}
