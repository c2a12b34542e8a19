// The security section of README.md.
// #region origins
import express from 'express';
import { websocket } from 'wsgate/express';

export const app = express();
// Browsers attach cookies to cross-site WebSocket handshakes and CORS does not apply: without an
// Origin check, any page a signed-in user visits can open this socket as them (cross-site
// WebSocket hijacking). Allow your own origins only:
export const sockets = websocket({
  origins: ['https://app.example.com', 'https://admin.example.com'],
  // or a predicate: origins: (origin, req) => origin === `https://${req.headers.host}`,
});
app.use(sockets);
// #endregion
