/**
 * The three states shared by both sides of a {@link WebSocket}: the client's (driven by what
 * `receive()` returns) and the application's (driven by what `send()` is given).
 */
export const WebSocketState = {
  CONNECTING: 'CONNECTING',
  CONNECTED: 'CONNECTED',
  DISCONNECTED: 'DISCONNECTED',
} as const;

/** One of {@link WebSocketState}'s values. */
export type WebSocketState = (typeof WebSocketState)[keyof typeof WebSocketState];
