/** The most UTF-8 bytes a close reason may have: a control frame carries 125 bytes, 2 are the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether an application may send `code` in a close frame. The same set `ws` accepts: the
 * registered codes except the ones reserved for local use (1004, 1005, 1006), and 3000–4999.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}

/** Throws `RangeError` unless `code` and `reason` can go into a close frame. */
export function assertCloseFrame(code: number, reason: string): void {
  if (!isValidCloseCode(code)) {
    throw new RangeError(
      `Invalid WebSocket close code ${String(code)}: use 1000-1014 (except 1004-1006) or 3000-4999`,
    );
  }
  if (typeof reason !== 'string') throw new TypeError('The close reason must be a string');
  if (Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`The close reason must be at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`);
  }
}

/**
 * The close code `ws` sends when the client breaks the protocol (`error.code` is one of its
 * `WS_ERR_*`), or `undefined` for other errors. `ws` then reports 1006 on the server side (it
 * stops reading before the client's reply), so the handler would not learn why without this.
 */
export function protocolCloseCode(error: Error & { code?: string }): number | undefined {
  const code = error.code;
  if (code === undefined || !code.startsWith('WS_ERR_')) return undefined;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  if (
    code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ||
    code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH'
  ) {
    return 1009;
  }
  return 1002;
}
