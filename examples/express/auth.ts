// The auth-by-middleware and custom-refusal recipes of docs/express.md.
// #region auth
import express, { type NextFunction, type Request, type Response } from 'express';
import { websocket } from '../../adapters/express/index.js';

interface User {
  name: string;
}

declare global {
  namespace Express {
    interface Request {
      user?: User;
    }
  }
}

const tokens = new Map<string, User>([['s3cret', { name: 'ann' }]]);

// An ordinary Express middleware: it runs before the handshake, so refusing is a plain response.
function authenticate(req: Request, res: Response, next: NextFunction): void {
  // Browsers cannot set headers on a WebSocket: take a cookie or a query parameter too.
  const token = req.headers.authorization?.replace(/^Bearer /, '') ?? req.query.token;
  const user = typeof token === 'string' ? tokens.get(token) : undefined;
  if (user === undefined) {
    res.status(401).json({ error: 'Log in first' });
    return;
  }
  req.user = user;
  next();
}

export const app = express();
app.use(websocket());
// #endregion

// #region refuse
const online = new Set<string>();

function onePerUser(req: Request, res: Response, next: NextFunction): void {
  if (req.user && online.has(req.user.name)) {
    // Any status, headers and body: the client gets exactly this response and no upgrade.
    res.status(409).set('Retry-After', '10').json({ error: 'Already connected elsewhere' });
    return;
  }
  next();
}

app.websocket('/chat', authenticate, onePerUser, async (socket, req) => {
  const { user } = req;
  // Refusing from the handler itself: close() before accept() answers HTTP 403.
  if (user === undefined) return socket.close();
  online.add(user.name);
  try {
    await socket.accept();
    await socket.sendText(`hello ${user.name}`);
    for await (const text of socket.iterText()) await socket.sendText(`${user.name}: ${text}`);
  } finally {
    online.delete(user.name);
  }
});
// #endregion
