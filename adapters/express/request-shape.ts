import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Express re-prototypes every request and response (`Object.setPrototypeOf` in `app.handle`),
 * and V8 gives an object whose prototype was changed a hidden class of its own for every property
 * added after that: each such store allocates a map, and every later access to the request (by
 * Express, its router, `ws`, Node) misses its inline cache (`bench/hidden-classes.mjs`). Before
 * Express sees an upgrade request (one `attach` dispatches, or on the request path one that
 * passes the listener of lib/server/request-preparation.ts), the plugin adds, in one order, the
 * properties Express and its router would add; their stores then change values of a shape every
 * upgrade shares. (The V8 of Node 24 and later shares such maps by itself; there this changes
 * nothing.)
 */

/**
 * What Express 4 and 5 and their routers store on a routed request: plain data properties in
 * both. Not `query`: Express 4 stores it, Express 5 reads it through a getter an own property
 * would hide.
 */
const REQUEST_KEYS = ['res', 'next', 'baseUrl', 'originalUrl', '_parsedUrl', 'params', 'route'];

/** The description of the symbol Express 5's router stores the matched route under. */
const MATCHED_ROUTE = 'router.tracing.matchedRoute';

/** That symbol, private to the router, once a routed upgrade has shown it (`learnShape`). */
let matchedRoute: symbol | undefined;

/**
 * Looks for the router's symbol on an upgrade request routed to a `.websocket()` route, until one
 * has it: Express 4's router stores none, and an Express 4 app may route before an Express 5 one.
 */
export function learnShape(req: IncomingMessage): void {
  if (matchedRoute !== undefined) return;
  matchedRoute = Object.getOwnPropertySymbols(req).find((key) => key.description === MATCHED_ROUTE);
}

/** Gives `req` and `res` the properties Express will store on them (see above). */
export function shapeRequest(req: IncomingMessage, res: ServerResponse): void {
  const request = req as unknown as Record<PropertyKey, unknown>;
  for (const key of REQUEST_KEYS) request[key] = undefined;
  if (matchedRoute !== undefined) request[matchedRoute] = undefined;
  (res as unknown as { locals: unknown }).locals = undefined;
}
