/**
 * One factory per framework, so a suite can run the same cases against an Express app and a Koa
 * app: the same routes (framework-neutral "gates" as middleware, then a handler), real servers on
 * 127.0.0.1, and a record of the errors that reached the application (`onError`) and the
 * framework's own error handling (Express error middleware, Koa's `app.on('error')`).
 */
import { EventEmitter, once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa from 'koa';
import { websocket as expressWebsocket } from '../../adapters/express/index.js';
import { websocket as koaWebsocket, withWebSocket } from '../../adapters/koa/index.js';
import type { WebSocket } from '../../lib/index.js';
import type { WebSocketPlugin, WebSocketPluginOptions } from '../../lib/server/index.js';

export type FrameworkName = 'express' | 'koa';

/** An HTTP answer a gate gives instead of letting the upgrade through. */
export interface GateRefusal {
  status: number;
  body: string;
}

/** A framework-neutral middleware: refuse with a response, or let the request go on. */
export type Gate = (
  req: IncomingMessage,
) => GateRefusal | undefined | Promise<GateRefusal | undefined>;

/** A WebSocket route's handler, framework-neutral (the framework's request is `req`). */
export type Handler = (socket: WebSocket, req: IncomingMessage) => unknown;

export interface Route {
  path: string;
  gates?: Gate[];
  handler: Handler;
}

export interface App {
  framework: FrameworkName;
  server: http.Server;
  sockets: WebSocketPlugin;
  port: number;
  /** `ws://127.0.0.1:port` */
  url: string;
  /** `http://127.0.0.1:port` */
  http: string;
  /** Errors handed to `options.onError` (unless the test gave its own). */
  readonly onErrors: unknown[];
  /** Errors that reached the framework's error handling. */
  readonly frameworkErrors: unknown[];
  /** Server-side TCP connections still open. */
  readonly connections: ReadonlySet<Socket>;
  /** Emits `connection` (a server-side socket) and `close` (one of them closed). */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

export interface Framework {
  name: FrameworkName;
  /** Serves an app with the plugin (heartbeat off unless given) and `routes`. */
  serve(options: WebSocketPluginOptions, routes: Route[]): Promise<App>;
}

function expressGate(gate: Gate) {
  return (req: Request, res: Response, next: NextFunction): void => {
    Promise.resolve()
      .then(() => gate(req))
      .then((refusal) => {
        if (refusal) res.status(refusal.status).type('text').send(refusal.body);
        else next();
      }, next);
  };
}

function koaGate(gate: Gate) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    const refusal = await gate(ctx.req);
    if (refusal) {
      ctx.status = refusal.status;
      ctx.body = refusal.body;
      return;
    }
    await next();
  };
}

const running = new Set<App>();

async function listen(
  framework: FrameworkName,
  server: http.Server,
  sockets: WebSocketPlugin,
  onErrors: unknown[],
  frameworkErrors: unknown[],
): Promise<App> {
  const connections = new Set<Socket>();
  const events = new EventEmitter();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    events.emit('connection', socket);
    socket.on('close', () => {
      connections.delete(socket);
      events.emit('close', socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const app: App = {
    framework,
    server,
    sockets,
    port,
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    onErrors,
    frameworkErrors,
    connections,
    events,
    async close() {
      running.delete(app);
      for (const socket of connections) socket.destroy();
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  running.add(app);
  return app;
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
  async serve(options, routes) {
    const onErrors: unknown[] = [];
    const frameworkErrors: unknown[] = [];
    const app = express();
    // Express's default error handler logs to stderr unless the env is 'test'; errors are
    // recorded by the error middleware below instead.
    app.set('env', 'test');
    const sockets = expressWebsocket(withDefaults(options, onErrors));
    app.use(sockets);
    for (const route of routes) {
      app.websocket(
        route.path,
        ...(route.gates ?? []).map(expressGate),
        (socket: WebSocket, req: Request) => route.handler(socket, req),
      );
    }
    app.use((error: unknown, _req: Request, _res: Response, next: NextFunction) => {
      frameworkErrors.push(error);
      next(error);
    });
    return listen('express', http.createServer(app), sockets, onErrors, frameworkErrors);
  },
};

export const koaFramework: Framework = {
  name: 'koa',
  async serve(options, routes) {
    const onErrors: unknown[] = [];
    const frameworkErrors: unknown[] = [];
    const app = withWebSocket(new Koa());
    // With a listener, Koa does not log errors itself.
    app.on('error', (error: unknown) => {
      frameworkErrors.push(error);
    });
    const sockets = koaWebsocket(withDefaults(options, onErrors));
    app.use(sockets);
    for (const route of routes) {
      app.websocket(route.path, ...(route.gates ?? []).map(koaGate), (socket, ctx) =>
        route.handler(socket, ctx.req),
      );
    }
    return listen('koa', http.createServer(app.callback()), sockets, onErrors, frameworkErrors);
  },
};

export const frameworks: readonly Framework[] = [expressFramework, koaFramework];

/** Closes every app a factory served and that is still open (for `afterEach`). */
export async function closeApps(): Promise<void> {
  await Promise.all([...running].map((app) => app.close()));
}

/** Things a handler reports, in order, with a way to wait for them. */
export class Recorder<T = unknown> {
  readonly list: T[] = [];
  readonly #events = new EventEmitter();

  add(item: T): void {
    this.list.push(item);
    this.#events.emit('add');
  }

  /** Resolves once at least `count` items were recorded. */
  async atLeast(count: number): Promise<T[]> {
    while (this.list.length < count) await once(this.#events, 'add');
    return this.list;
  }

  /** The first item (waits for it). */
  async first(): Promise<T> {
    await this.atLeast(1);
    return this.list[0] as T;
  }
}
