/**
 * `npm start [-- --koa]`: the chat demo on http://localhost:3000.
 *
 * Environment: `PORT` (default 3000); `REDIS_URL` shares rooms and presence through Redis;
 * `WORKERS=N` (with `REDIS_URL`) runs N `node:cluster` workers on the one port.
 */
import cluster from 'node:cluster';
import { start } from './server.js';

const koa = process.argv.includes('--koa');
const port = Number(process.env.PORT ?? 3000);
const workers = Number(process.env.WORKERS ?? 1);
const redisUrl = process.env.REDIS_URL || undefined;
const backend = koa ? 'Koa' : 'Express';

if (!Number.isInteger(workers) || workers < 1) {
  console.error('WORKERS must be a positive integer');
  process.exit(1);
}
if (workers > 1 && redisUrl === undefined) {
  console.error('WORKERS > 1 needs REDIS_URL: the workers share rooms through Redis');
  process.exit(1);
}

if (workers > 1 && cluster.isPrimary) {
  // The primary only forks: Node's cluster hands each connection on the port to one worker.
  let listening = 0;
  cluster.on('listening', (_worker, address) => {
    listening += 1;
    if (listening === workers) {
      console.log(
        `wsgate chat (${backend}, ${workers} workers sharing rooms through Redis) on http://localhost:${address.port}`,
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) console.error(`worker ${worker.process.pid} exited (${signal ?? code})`);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1);
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const demo = await start({ port, koa, redisUrl }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') console.error(`Port ${port} is taken: try PORT=3001`);
    else if (error.code === 'ECONNREFUSED') console.error(`Cannot reach Redis at ${redisUrl}`);
    else console.error(error);
    process.exit(1);
  });
  if (cluster.isPrimary) {
    const shared = redisUrl ? ', rooms shared through Redis' : '';
    console.log(`wsgate chat (${backend}${shared}) on http://localhost:${demo.port}`);
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 5_000).unref(); // should closing ever hang
    demo.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
}
