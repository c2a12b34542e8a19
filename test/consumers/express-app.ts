// A README-style Express app, type-checked by test/consumers.test.ts inside temporary consumer
// projects that installed the packed wsgate (CommonJS and ESM packages, nodenext, node20, bundler).
import express from 'express';
import { websocket } from 'wsgate/express';

const app = express();
const sockets = websocket({ maxPayload: 64 * 1024 });
app.use(sockets);
// @ts-expect-error -- compression takes `ws`'s options (no error if wsgate's types had lost `ws`'s)
websocket({ perMessageDeflate: { threshold: 'large' } });

const rooms = express.Router();
rooms.websocket('/:room', async (socket, req) => {
  const topic = `room:${req.params.room}`;
  // @ts-expect-error -- the path has no :user parameter (no error if req were `any`: the check fails)
  void req.params.user;
  await socket.accept();
  await socket.subscribe(topic);
  for await (const message of socket.iterJson<{ text: string }>()) {
    await socket.publishJson(topic, { text: message.text });
  }
});
app.use('/rooms', rooms);

app.websocket('/echo', async (socket) => {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(`echo: ${text}`);
});

app.post('/rooms/:room/announce', express.text(), async (req, res) => {
  await sockets.publish(`room:${req.params.room}`, String(req.body));
  res.sendStatus(204);
});

const server = app.listen(Number(process.env.PORT ?? 3000));
process.once('SIGTERM', () => {
  server.close();
  void sockets.close(1001);
});
