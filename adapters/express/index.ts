/**
 * `wsgate/express`: WebSocket endpoints for Express 5 (and 4).
 *
 * Importing this module gives every Express application and `express.Router()` a typed
 * `.websocket(path, ...middleware, handler)` method; `websocket(options)` creates the middleware
 * that must be installed with `app.use()` before those routes.
 *
 * @packageDocumentation
 */
import express from 'express';
import { installRoutes } from './routes.js';

installRoutes(express);

export type {
  AttachOptions,
  HeartbeatOptions,
  OriginPolicy,
  PresenceDiff,
  PresenceListener,
  WebSocket,
  WebSocketPlugin,
  WebSocketPluginOptions,
} from '../../lib/server/index.js';
export { websocket } from './middleware.js';
export type { WebSocketHandler, WebSocketMiddleware, WebSocketRouteHandlers } from './types.js';
