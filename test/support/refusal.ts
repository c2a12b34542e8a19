/** Handshakes the server must refuse, and what they are answered with. */
import { randomBytes } from 'node:crypto';
import { type AttemptOptions, attempt, type HttpAnswer } from './clients.js';

export type { HttpAnswer } from './clients.js';

/** The headers of a valid WebSocket handshake (for HTTP clients that are not WebSocket ones). */
export function handshakeHeaders(): Record<string, string> {
  return {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
  };
}

/**
 * Sends a WebSocket handshake (`ws:` or `http:` URL) and resolves with the HTTP answer when the
 * server refuses it, once the server has closed the connection too (a refusal that leaves the
 * socket hanging fails the test by timeout, unless `mayStayOpen`); rejects if the server upgrades.
 */
export async function refusal(
  url: string,
  headers: Record<string, string> = {},
  options: AttemptOptions = {},
): Promise<HttpAnswer> {
  const outcome = await attempt(url, [], {
    ...options,
    headers: { ...options.headers, ...headers },
  });
  if ('client' in outcome) throw new Error('The server upgraded the connection');
  return outcome;
}
