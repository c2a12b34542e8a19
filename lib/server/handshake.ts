import type { IncomingMessage } from 'node:http';
import type { ResolvedOptions } from './options.js';

/** An HTTP answer to an upgrade request that will not be upgraded. */
export interface Refusal {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

// RFC 6455 §4.1: the key is 16 random bytes, base64-encoded.
const KEY = /^[+/0-9A-Za-z]{22}==$/;

/** Whether the request asks for a WebSocket (whatever the method: a wrong one gets an error). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && upgrade.toLowerCase() === 'websocket';
}

/**
 * Checks what `ws` would reject, so a malformed handshake gets a clear HTTP error before any
 * middleware or handler runs. `ws` still validates again when it completes the handshake.
 */
export function checkHandshake(req: IncomingMessage): Refusal | undefined {
  if (req.method !== 'GET') {
    return { status: 405, headers: { Allow: 'GET' }, body: 'A WebSocket handshake must be a GET' };
  }
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    return { status: 400, body: 'A WebSocket handshake needs HTTP/1.1' };
  }
  if (!req.headers.host) return { status: 400, body: 'Missing Host header' };
  const connection = req.headers.connection;
  if (!connection || !/(?:^|,)\s*upgrade\s*(?:,|$)/i.test(connection)) {
    return { status: 400, body: 'The Connection header must include "Upgrade"' };
  }
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key.trim())) {
    return { status: 400, body: 'Missing or invalid Sec-WebSocket-Key' };
  }
  if (req.headers['sec-websocket-version'] !== '13') {
    return {
      status: 426,
      headers: { 'Sec-WebSocket-Version': '13' },
      body: 'Unsupported Sec-WebSocket-Version: this server speaks version 13',
    };
  }
  return undefined;
}

/** Applies the `origins` option: a refusal for an origin it does not allow. */
export function checkOrigin(req: IncomingMessage, options: ResolvedOptions): Refusal | undefined {
  const { origins } = options;
  if (origins === undefined) return undefined;
  const origin = req.headers.origin;
  const allowed =
    typeof origins === 'function'
      ? origins(origin, req)
      : origin !== undefined && origins.includes(origin);
  return allowed ? undefined : { status: 403, body: 'Origin not allowed' };
}
