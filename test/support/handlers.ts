/** Handlers the suites serve, and the checks that go with them. */
import { expect } from 'chai';
import type { WebSocket as Client } from 'ws';
import { type WebSocket, WebSocketDisconnect } from '../../lib/index.js';
import { closed, connect, received } from './clients.js';
import type { Recorder } from './waiting.js';

/**
 * A handler that accepts and echoes text (after `prefix`) until the client leaves; records in
 * `ends` the error that ended it (the client may have left before the accept) and lets it escape
 * (a `WebSocketDisconnect` is a normal end).
 */
export function echo(ends?: Recorder, prefix = ''): (socket: WebSocket) => Promise<void> {
  return async (socket) => {
    try {
      await socket.accept();
      for (;;) await socket.sendText(`${prefix}${await socket.receiveText()}`);
    } catch (error) {
      ends?.add(error);
      throw error;
    }
  };
}

/** The close code of a `WebSocketDisconnect`, or a description of what else `error` is. */
export function disconnectCode(error: unknown): number | string {
  return error instanceof WebSocketDisconnect ? error.code : `not a disconnect: ${String(error)}`;
}

/**
 * An `echo()` route still answers: the server keeps serving. Given a URL, through a new client
 * that is closed with 1000 afterwards; given a client, through that one.
 */
export async function stillServes(target: string | Client): Promise<void> {
  const client = typeof target === 'string' ? await connect(target) : target;
  const count = (await received(client)).length;
  client.send('still serving');
  expect((await received(client, count + 1))[count]).to.equal('still serving');
  if (typeof target !== 'string') return;
  const done = closed(client);
  client.close(1000);
  expect((await done).code).to.equal(1000);
}
