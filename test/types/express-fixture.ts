// Compiled by test/express-types.test.ts with `tsc --noEmit`: proves the public types of
// `wsgate/express` (the `.websocket()` augmentation and the handler's inferred parameters).
import express, { type NextFunction, type Request, type Response } from 'express';
import { type WebSocketMiddleware, websocket } from '../../adapters/express/index.js';
import type { WebSocket } from '../../lib/websocket.js';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_proof?: T): void {}

const app = express();
const sockets: WebSocketMiddleware = websocket({ maxPayload: 1024, heartbeat: false });
app.use(sockets);
assertType<Equal<typeof sockets.clients, ReadonlySet<WebSocket>>>();
const closing: Promise<void> = sockets.close(1001, 'bye');
void closing;

// The handler's parameters infer without annotations, and are not `any`.
const chained = app.websocket('/rooms/:room', async (socket, req) => {
  assertType<Equal<typeof socket, WebSocket>>();
  assertType<Equal<IsAny<typeof socket>, false>>();
  assertType<Equal<IsAny<typeof req>, false>>();
  assertType<Equal<typeof req.params.room, string>>();
  // @ts-expect-error -- the path has no :user parameter
  void req.params.user;
  await socket.accept();
  const text: string = await socket.receiveText();
  await socket.sendText(`${req.params.room}: ${text}`);
});
assertType<Equal<typeof chained, typeof app>>();

// Middleware in between, typed by the same route parameters.
app.websocket(
  '/users/:id/feed',
  (req, res, next) => {
    assertType<Equal<typeof req.params.id, string>>();
    if (!req.headers.authorization) res.status(401).json({ error: 'no token' });
    else next();
  },
  (_req: Request, _res: Response, next: NextFunction) => next(),
  (socket, req) => {
    assertType<Equal<IsAny<typeof socket>, false>>();
    assertType<Equal<typeof req.params.id, string>>();
    return socket.close();
  },
);

// Routers too.
const router = express.Router();
const sameRouter = router.websocket('/feed/*rest', (socket, req) => {
  assertType<Equal<typeof socket, WebSocket>>();
  assertType<Equal<typeof req.params.rest, string[]>>();
});
assertType<Equal<typeof sameRouter, typeof router>>();
app.use('/api', router);

// Several paths, and a RegExp.
app.websocket(['/a', '/b'], (socket) => socket.accept());
app.websocket(/^\/re\/(\d+)$/, (_socket, req) => {
  const first: string | undefined = req.params[0];
  void first;
});

// Wrong usages fail.
// @ts-expect-error -- a handler is required
app.websocket('/nothing');
// @ts-expect-error -- the path must be a string, a RegExp or an array of them
app.websocket(42, (socket) => socket.accept());
app.websocket('/x', (socket) => {
  // @ts-expect-error -- sendText takes a string
  void socket.sendText(42);
});
// @ts-expect-error -- the handler receives a WebSocket, not an Express response
app.websocket('/y', (_socket: Response) => {});
// @ts-expect-error -- unknown option
websocket({ maxPayloads: 1 });
