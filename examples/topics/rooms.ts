// The topics section of README.md.
// #region rooms
import express from 'express';
import { websocket } from 'wsgate/express';

export const app = express();
export const sockets = websocket();
app.use(sockets);

app.websocket('/rooms/:room', async (socket, req) => {
  const topic = `room:${req.params.room}`;
  await socket.accept();
  await socket.subscribe(topic);
  for await (const message of socket.iterJson<{ text: string }>()) {
    // To everyone in the room except this socket (sockets.publishJson would include it).
    await socket.publishJson(topic, { text: message.text });
  }
  // Leaving the loop means the client left: its topics are already dropped.
});

// Publishing from anywhere in the app, e.g. an HTTP endpoint:
app.post('/rooms/:room/announce', express.text(), async (req, res) => {
  await sockets.publish(`room:${req.params.room}`, String(req.body));
  res.sendStatus(204);
});
// #endregion
