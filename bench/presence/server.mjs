// One server of the presence benchmark (bench/presence/run.mjs): wsgate/express, built, with the
// Redis backplane on $WSGATE_REDIS_URL (else in-process). `/p?user=`: `track`, `untrack` and
// `list` (answers the number of keys); `/watch`: subscribed to the topic, it gets `change` for
// every presence change this process hears. Prints its port on the IPC channel.
import { createServer } from 'node:http';
import express from 'express';
import { importWsgate } from '../servers/common.mjs';

const TOPIC = 'big';
const { websocket } = await importWsgate('wsgate/express', 'adapters/express/index.js');
const { redisPubSub } = await importWsgate('wsgate/redis', 'lib/redis/index.js');

const url = process.env.WSGATE_REDIS_URL;
const sockets = websocket({ heartbeat: false, ...(url ? { pubsub: redisPubSub({ url }) } : {}) });
const app = express();
app.use(sockets);
app.websocket('/p', async (socket) => {
  const user = socket.query.get('user') ?? 'anonymous';
  await socket.accept();
  for await (const text of socket.iterText()) {
    if (text === 'track') await socket.track(TOPIC, user, { since: Date.now() });
    else if (text === 'untrack') await socket.untrack(TOPIC);
    else if (text === 'list') {
      await socket.sendText(String(Object.keys(await sockets.presence(TOPIC)).length));
      continue;
    }
    await socket.sendText('ok');
  }
});
app.websocket('/watch', async (socket) => {
  await socket.accept();
  await socket.subscribe(TOPIC);
  await socket.sendText('ready');
  for await (const _ of socket.iterText());
});
sockets.onPresence(({ topic }) => {
  for (const watcher of sockets.subscribers(topic)) watcher.sendText('change').catch(() => {});
});

const server = createServer(app).listen(0, '127.0.0.1', () => {
  process.send({ port: server.address().port });
});
process.on('disconnect', () => process.exit(0));
