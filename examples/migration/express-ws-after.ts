// docs/migration.md: the same endpoint on wsgate/express.
// #region after
import express from 'express';
import { websocket } from '../../adapters/express/index.js';

const app = express();
app.use(websocket());

app.websocket(
  '/echo',
  (req, res, next) => {
    // Runs before the handshake: a refused client gets a real HTTP 401 and no upgrade.
    if (req.query.token !== 'secret') return void res.status(401).json({ error: 'unauthorized' });
    next();
  },
  async (socket) => {
    await socket.accept();
    for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
  },
);

export const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion
