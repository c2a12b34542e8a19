// docs/migration.md: an express-ws endpoint, before. (The repo runs it on its Express 4 alias.)
// #region before

import expressWs from 'express-ws';
import express from 'express4';

const app = express();
expressWs(app); // express-ws needs Express 4: router.ws does not exist on Express 5

app.ws('/echo', (ws, req) => {
  // Runs after the handshake: a refused client has already been upgraded.
  if (req.query.token !== 'secret') return ws.close(4401, 'unauthorized');
  ws.on('message', (data) => ws.send(`echo: ${data}`));
});

export const server = app.listen(Number(process.env.PORT ?? 3000));
// #endregion
