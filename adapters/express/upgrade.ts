import type { IncomingMessage } from 'node:http';
import type { Gateway } from '../../lib/server/gateway.js';
import type { WebSocket } from '../../lib/websocket.js';

/** An upgrade request the `websocket()` middleware took: its socket and the plugin that owns it. */
export interface Upgrade {
  readonly socket: WebSocket;
  readonly gateway: Gateway;
}

const kUpgrade = Symbol('wsgate.express.upgrade');

type TaggedRequest = IncomingMessage & { [kUpgrade]?: Upgrade };

/** Records on `req` the socket the middleware opened for it, for the `.websocket()` routes. */
export function setUpgrade(req: IncomingMessage, upgrade: Upgrade): void {
  (req as TaggedRequest)[kUpgrade] = upgrade;
}

/** The socket the middleware opened for `req`, if it is a WebSocket upgrade it took. */
export function getUpgrade(req: IncomingMessage): Upgrade | undefined {
  return (req as TaggedRequest)[kUpgrade];
}
