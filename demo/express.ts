/** The chat on Express: `npm start`. */
import express, { type NextFunction, type Request, type Response } from 'express';
import { websocket } from 'wsgate/express';
import { type Chat, page, refusal } from './chat.js';

declare global {
  namespace Express {
    interface Request {
      /** The chat name `requireName` accepted. */
      chatName?: string;
    }
  }
}

/**
 * Runs before the handshake, like any auth middleware: without a usable `?name=` the client
 * gets a plain HTTP 400 and no WebSocket.
 */
function requireName(req: Request, res: Response, next: NextFunction): void {
  const problem = refusal(req.params.room, req.query.name);
  if (problem !== undefined) {
    res.status(400).json({ error: problem });
    return;
  }
  req.chatName = String(req.query.name).trim();
  next();
}

export function expressApp(chat: Chat) {
  const app = express();
  const sockets = websocket({ pubsub: chat.pubsub });
  chat.use(sockets);
  app.use(sockets);

  app.websocket('/rooms/:room', requireName, (socket, req) =>
    chat.join(socket, sockets, req.params.room, req.chatName ?? ''),
  );
  // A plain GET of the same URL runs the same check: the page asks it why a handshake failed,
  // since browsers hide a refused handshake's HTTP response from scripts.
  app.get('/rooms/:room', requireName, (_req, res) => {
    res.json({ ok: true });
  });

  app.get('/api/rooms', async (_req, res) => {
    res.json(await chat.rooms());
  });
  app.use((req, res, next) => {
    const file = req.method === 'GET' ? page(req.path) : undefined;
    if (file === undefined) return next();
    res.type(file.type).send(file.body);
  });
  return { app, sockets };
}
