import type { Socket } from 'node:net';

/**
 * Coalesces the frames written to a socket in one turn of the event loop into one system call.
 * `ws` writes every frame with its own `writev`; a handler answering a burst of messages (or a
 * publish to many sockets) would pay one system call per frame. The first write of a turn corks
 * the socket; one shared `process.nextTick` uncorks every socket corked in that turn — after the
 * promise jobs of the turn, so sends from `await`ing handlers are included.
 *
 * A socket whose handler goes back to waiting for a message is uncorked then ({@link flushCorked}):
 * it has answered what it had, and a client waiting for that answer would otherwise also wait for
 * the promise jobs of every other connection in the turn.
 */
const corked: Socket[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  // Uncorking writes: a socket corked again meanwhile is queued for the next flush.
  const sockets = corked.splice(0);
  for (const socket of sockets) flushCorked(socket);
}

/** Corks `socket` until the end of this turn, unless it already is. */
export function corkForTurn(socket: Socket): void {
  if (socket.writableCorked > 0) return;
  socket.cork();
  corked.push(socket);
  if (!flushScheduled) {
    flushScheduled = true;
    process.nextTick(flush);
  }
}

/**
 * Writes what `socket` has corked this turn now; the turn's flush passes over a socket flushed
 * early. For the socket of an open connection: `ws` corks only for the length of one send, so a
 * cork on it is {@link corkForTurn}'s.
 */
export function flushCorked(socket: Socket): void {
  if (socket.writableCorked > 0) socket.uncork();
}
