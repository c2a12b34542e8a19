import type { Server } from 'node:http';
import type { JsonOptions } from '../json.js';
import type { WebSocket } from '../websocket.js';
import type { AttachOptions, Gateway } from './gateway.js';
import type { PresenceListener } from './presence.js';

/** What `websocket(options)` returns in every adapter, besides being the framework's middleware. */
export interface WebSocketPlugin {
  /** The accepted, still-open sockets of this plugin instance. */
  readonly clients: ReadonlySet<WebSocket>;
  /**
   * Closes every open socket with `code` (default 1001) and resolves when all are gone;
   * upgrades arriving afterwards are refused with HTTP 503.
   */
  close(code?: number, reason?: string): Promise<void>;
  /**
   * Takes upgrade requests from the server's `upgrade` event and runs them through the app, for
   * servers where another component already listens for `upgrade`. Returns a detach function.
   */
  attach(server: Server, options?: AttachOptions): () => void;
  /**
   * Sends `data` to every socket on `topic`, in every process sharing the backplane: a string as
   * a text message, bytes as a binary one. No subscribers: a no-op. Resolves when handed to the
   * backplane; rejects if the backplane cannot take it.
   */
  publish(topic: string, data: string | Uint8Array): Promise<void>;
  /** As {@link publish}, with `value` serialised as `sendJson` does (`TypeError` if it cannot be). */
  publishJson(topic: string, value: unknown, options?: JsonOptions): Promise<void>;
  /**
   * Who is on `topic`, in every process sharing the backplane: each key with the metas of its
   * entries (`socket.track(topic, key, meta)`) in join order; nobody: `{}`.
   */
  presence(topic: string): Promise<Record<string, unknown[]>>;
  /**
   * Calls `listener({ topic, joins, leaves })` (each like {@link presence}) once per change on a
   * topic this process has subscribers or entries on, after `presence(topic)` reflects it.
   * Returns the function that removes the listener.
   */
  onPresence(listener: PresenceListener): () => void;
  /** This process's sockets subscribed to `topic`. */
  subscribers(topic: string): ReadonlySet<WebSocket>;
}

/** Gives an adapter's middleware function the plugin's public surface. */
export function asPlugin<M extends object>(middleware: M, gateway: Gateway): M & WebSocketPlugin {
  const plugin: WebSocketPlugin = {
    clients: gateway.clients,
    close: (code, reason) => gateway.close(code, reason),
    attach: (server, options) => gateway.attach(server, options),
    publish: (topic, data) => gateway.publish(topic, data),
    publishJson: (topic, value, options) => gateway.publishJson(topic, value, options),
    presence: (topic) => gateway.presence(topic),
    onPresence: (listener) => gateway.onPresence(listener),
    subscribers: (topic) => gateway.subscribers(topic),
  };
  return Object.assign(middleware, plugin);
}
