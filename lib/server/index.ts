/**
 * What the framework adapters share, and the only module of `lib/` they import: everything
 * between an upgrade request and a running handler. Nothing here knows Express or Koa.
 */
export { WebSocketState } from '../state.js';
export type { WebSocket } from '../websocket.js';
export { type AttachOptions, Gateway, type Upgrade, upgradeOf } from './gateway.js';
export { isWebSocketUpgrade } from './handshake.js';
export { NodeInternalsError } from './http-takeover.js';
export { runHandler, type Unanswered } from './lifecycle.js';
export type { HeartbeatOptions, OriginPolicy, WebSocketPluginOptions } from './options.js';
export { asPlugin, type WebSocketPlugin } from './plugin.js';
export {
  localPresence,
  type PresenceChange,
  type PresenceDiff,
  type PresenceEntry,
  type PresenceHost,
  type PresenceListener,
  type PresenceStore,
} from './presence.js';
export {
  inProcessPubSub,
  type PubSub,
  type PubSubFactory,
  type PubSubHost,
  type TopicMessage,
} from './pubsub.js';
export type { PrepareRequest } from './request-preparation.js';
export { missingPlugin, type RouteParts, splitRoute } from './route.js';
