/**
 * One factory per framework, so a suite can run the same cases against an Express app and a Koa
 * app: the same routes (framework-neutral "gates" as middleware, then a handler), real servers on
 * 127.0.0.1, and a record of the errors that reached the application (`onError`) and the
 * framework's own error handling (Express error middleware, Koa's `app.on('error')`). Apps are
 * closed by `cleanup()` (test/support/cleanup.ts) or their own `close()`.
 */
import http, { type IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa from 'koa';
import { websocket as expressWebsocket } from '../../adapters/express/index.js';
import { websocket as koaWebsocket, withWebSocket } from '../../adapters/koa/index.js';
import type { WebSocket } from '../../lib/index.js';
import type { WebSocketPlugin, WebSocketPluginOptions } from '../../lib/server/index.js';
import { type Served, serve } from './servers.js';

export type FrameworkName = 'express' | 'koa';

/** An HTTP answer a gate gives instead of letting the upgrade through. */
export interface GateRefusal {
  status: number;
  /** Text (sent as text/plain), or a value sent as JSON. */
  body: string | object;
  headers?: Record<string, string>;
}

/** A framework-neutral middleware: refuse with a response, or let the request go on. */
export type Gate = (
  req: IncomingMessage,
) => GateRefusal | undefined | Promise<GateRefusal | undefined>;

/** A WebSocket route's handler, framework-neutral (the framework's request is `req`). */
export type Handler = (socket: WebSocket, req: IncomingMessage) => unknown;

export interface Route {
  path: string;
  /** The route's own middleware, in order, before the handler. */
  gates?: Gate[];
  handler: Handler;
  /** A plain HTTP page served on the same path after the WebSocket route (a literal path). */
  page?: string;
}

/** How the app around the routes is built. */
export interface Setup {
  /** App-level middleware, after the plugin and before every route. */
  middleware?: Gate[];
  /** Leaves `app.use(sockets)` out: the routes then fail on upgrades with a clear error. */
  withoutPlugin?: boolean;
  /** Called with the server before it listens (another `upgrade` listener, `sockets.attach`). */
  server?: (server: http.Server, sockets: WebSocketPlugin) => void;
}

/** A served app: the server (see `serve`), its plugin, and the errors that reached it. */
export interface App extends Served {
  framework: FrameworkName;
  sockets: WebSocketPlugin;
  /** Errors handed to `options.onError` (unless the test gave its own). */
  readonly onErrors: unknown[];
  /** Errors that reached the framework's error handling. */
  readonly frameworkErrors: unknown[];
}

export interface Framework {
  name: FrameworkName;
  /** The bodies of the framework's own answers (its default error handling). */
  pages: {
    /** To a request no route took. */
    notFound(path: string): RegExp;
    /** To an error thrown before the response started. */
    serverError: RegExp;
  };
  /**
   * Serves an app with the plugin (heartbeat off unless given) and `routes` on 127.0.0.1, closed
   * by `cleanup()`.
   */
  serve(options: WebSocketPluginOptions, routes: Route[], setup?: Setup): Promise<App>;
}

function expressGate(gate: Gate) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve()
      .then(() => gate(req))
      .then((refusal) => {
        if (!refusal) return next();
        res.status(refusal.status).set(refusal.headers ?? {});
        if (typeof refusal.body === 'string') res.type('text').send(refusal.body);
        else res.json(refusal.body);
      }, next);
  };
}

function koaGate(gate: Gate) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    const refusal = await gate(ctx.req);
    if (refusal) {
      ctx.status = refusal.status;
      ctx.set(refusal.headers ?? {});
      ctx.body = refusal.body;
      return;
    }
    await next();
  };
}

async function listen(
  framework: FrameworkName,
  server: http.Server,
  sockets: WebSocketPlugin,
  setup: Setup,
  onErrors: unknown[],
  frameworkErrors: unknown[],
): Promise<App> {
  setup.server?.(server, sockets);
  const served = await serve(server, { sockets });
  return { ...served, framework, sockets, onErrors, frameworkErrors };
}

function withDefaults(
  options: WebSocketPluginOptions,
  onErrors: unknown[],
): WebSocketPluginOptions {
  return {
    heartbeat: false,
    onError: (error) => {
      onErrors.push(error);
    },
    ...options,
  };
}

export const expressFramework: Framework = {
  name: 'express',
  // Outside production, Express answers with an HTML error page (with the stack of an error).
  pages: {
    notFound: (path) => new RegExp(`<pre>Cannot GET ${path}</pre>`),
    serverError: /^<!DOCTYPE html>[\s\S]*<title>Error<\/title>/,
  },
  async serve(options, routes, setup = {}) {
    const onErrors: unknown[] = [];
    const frameworkErrors: unknown[] = [];
    const app = express();
    // Express's default error handler logs to stderr unless the env is 'test'; errors are
    // recorded by the error middleware below instead.
    app.set('env', 'test');
    const sockets = expressWebsocket(withDefaults(options, onErrors));
    if (!setup.withoutPlugin) app.use(sockets);
    for (const gate of setup.middleware ?? []) app.use(expressGate(gate));
    for (const route of routes) {
      app.websocket(
        route.path,
        ...(route.gates ?? []).map(expressGate),
        (socket: WebSocket, req: Request) => route.handler(socket, req),
      );
      const { page } = route;
      if (page !== undefined) app.get(route.path, (_req, res) => res.type('html').send(page));
    }
    app.use((error: unknown, _req: Request, _res: Response, next: NextFunction) => {
      frameworkErrors.push(error);
      next(error);
    });
    return listen('express', http.createServer(app), sockets, setup, onErrors, frameworkErrors);
  },
};

export const koaFramework: Framework = {
  name: 'koa',
  pages: { notFound: () => /^Not Found$/, serverError: /^Internal Server Error$/ },
  async serve(options, routes, setup = {}) {
    const onErrors: unknown[] = [];
    const frameworkErrors: unknown[] = [];
    const app = withWebSocket(new Koa());
    // With a listener, Koa does not log errors itself.
    app.on('error', (error: unknown) => {
      frameworkErrors.push(error);
    });
    const sockets = koaWebsocket(withDefaults(options, onErrors));
    if (!setup.withoutPlugin) app.use(sockets);
    for (const gate of setup.middleware ?? []) app.use(koaGate(gate));
    for (const route of routes) {
      app.websocket(route.path, ...(route.gates ?? []).map(koaGate), (socket, ctx) =>
        route.handler(socket, ctx.req),
      );
      const { page } = route;
      if (page !== undefined) {
        app.use((ctx, next) => {
          if (ctx.path !== route.path || ctx.method !== 'GET') return next();
          ctx.type = 'html';
          ctx.body = page;
        });
      }
    }
    const server = http.createServer(app.callback());
    return listen('koa', server, sockets, setup, onErrors, frameworkErrors);
  },
};

export const frameworks: readonly Framework[] = [expressFramework, koaFramework];
