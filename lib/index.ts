export { isValidCloseCode, MAX_CLOSE_REASON_BYTES } from './close-code.js';
export { WebSocketDisconnect, WebSocketStateError } from './errors.js';
export type { JsonMode, JsonOptions } from './json.js';
export type {
  AcceptMessage,
  AppMessage,
  ClientMessage,
  CloseMessage,
  ConnectMessage,
  DisconnectMessage,
  HandshakeHeaders,
  ReceiveBytesMessage,
  ReceiveTextMessage,
  SendBytesMessage,
  SendTextMessage,
  Transport,
} from './messages.js';
export {
  type AttachOptions,
  type HeartbeatOptions,
  inProcessPubSub,
  localPresence,
  NodeInternalsError,
  type OriginPolicy,
  type PresenceChange,
  type PresenceDiff,
  type PresenceEntry,
  type PresenceHost,
  type PresenceListener,
  type PresenceStore,
  type PubSub,
  type PubSubFactory,
  type PubSubHost,
  type TopicMessage,
  type WebSocketPlugin,
  type WebSocketPluginOptions,
} from './server/index.js';
export { WebSocketState } from './state.js';
export { type AcceptOptions, WebSocket, type WebSocketInfo } from './websocket.js';
