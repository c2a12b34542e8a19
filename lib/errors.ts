/**
 * The peer is gone: thrown by `receive*` when the client disconnected (with the client's close
 * code and reason, 1006 when the TCP connection broke) and by `send*` when the connection failed.
 * A handler that lets it escape ends normally.
 */
export class WebSocketDisconnect extends Error {
  /** The close code (1000 normal, 1001 going away, 1006 abnormal closure, …). */
  readonly code: number;
  /** The close reason the peer gave, or `''`. */
  readonly reason: string;

  constructor(code = 1000, reason = '') {
    super(
      reason ? `WebSocket disconnected (${code}: ${reason})` : `WebSocket disconnected (${code})`,
    );
    this.name = 'WebSocketDisconnect';
    this.code = code;
    this.reason = reason;
  }
}

/**
 * A call the state machine forbids in the current state (receiving before `accept()`, sending
 * after `close()`, …). The call changed no state, sent nothing and consumed nothing.
 */
export class WebSocketStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebSocketStateError';
  }
}
