import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import { isWebSocketUpgrade } from './handshake.js';
import { ownWrittenFields } from './http-takeover.js';

/**
 * What an adapter does to an upgrade request, with its response, before the framework sees them
 * (Express: the properties it will add, see adapters/express/request-shape.ts).
 */
export type PrepareRequest = (req: IncomingMessage, res: ServerResponse) => void;

/** The servers whose upgrade requests are prepared, and by which functions. */
const preparing = new WeakMap<NetServer, Set<PrepareRequest>>();

/**
 * On the request path Node hands each request straight to the server's `request` listener (the
 * app), so nothing of the plugin's runs before the framework. The first request-path upgrade
 * shows the plugin its server: from then on a `request` listener in front of the app prepares
 * that server's upgrade requests as `attach()` does those it dispatches. It lives as long as the
 * server and holds nothing but `prepare`. The server is `req.socket.server`, which Node's HTTP
 * server sets on every connection it accepts (not in Node's documentation); where it is not
 * there, nothing is prepared and nothing else changes.
 */
export function prepareUpgradesAhead(req: IncomingMessage, prepare: PrepareRequest): void {
  const server: unknown = (req.socket as { server?: unknown }).server;
  if (!(server instanceof NetServer)) return;
  let prepares = preparing.get(server);
  if (prepares?.has(prepare)) return;
  if (prepares === undefined) {
    prepares = new Set();
    preparing.set(server, prepares);
  }
  prepares.add(prepare);
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!isWebSocketUpgrade(req)) return;
    try {
      ownWrittenFields(res);
      prepare(req, res);
    } catch {
      // Objects that refuse the stores (a frozen or read-only property): the request goes on
      // unprepared, as without this listener; an exception here would escape Node's parser.
    }
  });
}
