// The presence section of README.md.
// #region presence
import express from 'express';
import { websocket } from 'wsgate/express';

export const app = express();
export const sockets = websocket(); // with `pubsub: redisPubSub(...)`, across every process
app.use(sockets);

app.websocket('/rooms/:room', async (socket, req) => {
  const topic = `room:${req.params.room}`;
  const user = String(req.query.user);
  await socket.accept();
  await socket.subscribe(topic);
  // One entry per socket: a user with two tabs is one key with two metas. It leaves by itself
  // when the socket disconnects.
  await socket.track(topic, user, { since: Date.now() });
  await socket.sendJson({ online: Object.keys(await sockets.presence(topic)) });
  for await (const text of socket.iterText()) await socket.publishJson(topic, { user, text });
});

// Every change, wherever it happened, reaches the processes with sockets on the topic.
sockets.onPresence(({ topic, joins, leaves }) => {
  const change = { joined: Object.keys(joins), left: Object.keys(leaves) };
  for (const socket of sockets.subscribers(topic)) socket.sendJson(change).catch(() => {});
});
// #endregion
