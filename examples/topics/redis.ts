// The multi-process section of README.md: the rooms of examples/topics/rooms.ts, shared by
// every process (or cluster worker) that uses the same Redis.
// #region redis
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import express from 'express';
import { websocket } from 'wsgate/express';
import { redisPubSub } from 'wsgate/redis';

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? availableParallelism());
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const app = express();
  const sockets = websocket({
    pubsub: redisPubSub({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }),
  });
  app.use(sockets);

  app.websocket('/rooms/:room', async (socket, req) => {
    const topic = `room:${req.params.room}`;
    await socket.accept();
    await socket.subscribe(topic); // resolves once Redis delivers this topic here
    await socket.sendJson({ worker: process.pid });
    for await (const text of socket.iterText()) await socket.publish(topic, text);
  });

  // All workers share the port; Node's cluster hands each connection to one of them.
  app.listen(Number(process.env.PORT ?? 3000));
}
// #endregion
