import type { IncomingHttpHeaders } from 'node:http';

/** How much of a refusal's body its message quotes. */
const BODY_PREVIEW = 200;

/**
 * The app answered the upgrade request with an HTTP response instead of a 101: a middleware's
 * refusal (`res.status(401).json(…)`, `ctx.throw(403)`), a handler's `close()` before
 * `accept()` (403), a path no WebSocket route takes (404), a foreign `Origin` (403), a handler
 * that threw before accepting (500). `connect()` rejects with it.
 */
export class WebSocketRefused extends Error {
  /** The response's status code. */
  readonly status: number;
  /** The response's headers, lower-case names as Node's HTTP client gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The response's body, decoded as UTF-8. */
  readonly body: string;

  constructor(status: number, headers: IncomingHttpHeaders, body: string) {
    const quoted = body.length > BODY_PREVIEW ? `${body.slice(0, BODY_PREVIEW)}…` : body;
    super(`The WebSocket upgrade was refused with HTTP ${status}${quoted ? `: ${quoted}` : ''}`);
    this.name = 'WebSocketRefused';
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/** A wait of the test client that gave up (a receive, the handshake). */
export function timedOut(message: string): Error {
  const error = new Error(message);
  error.name = 'TimeoutError';
  return error;
}
