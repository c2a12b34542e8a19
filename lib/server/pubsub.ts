import { localPresence, type PresenceHost, type PresenceStore } from './presence.js';

/** One published message as it travels through a backplane. */
export interface TopicMessage {
  /** The payload: UTF-8 text when `binary` is false. */
  data: Buffer;
  /** Whether subscribers get a binary frame (else a text frame). */
  binary: boolean;
  /** The publishing socket's id when it excluded itself (`socket.publish`). */
  skip?: string;
}

/** What a backplane reports to the plugin that created it. */
export interface PubSubHost {
  /** A message arrived for a topic this process subscribed to. */
  deliver(topic: string, message: TopicMessage): void;
  /** The backplane failed (e.g. lost its connection); the plugin passes it to `onError`. */
  onError(error: unknown): void;
}

/**
 * A topic backplane: how published messages reach every process. The plugin subscribes a
 * topic once while this process has subscribers on it, and publishes once per message.
 */
export interface PubSub {
  /** Resolves when messages published to `topic` (from any process) will be delivered. */
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** Resolves when the message is handed to the backplane; rejects if it cannot be. */
  publish(topic: string, message: TopicMessage): Promise<void>;
  /** Releases connections; called by `sockets.close()`. */
  close(): Promise<void>;
  /**
   * The presence store that shares this backplane's processes (and may share its connections),
   * made once per plugin instance. `timeout` is the `presenceTimeout` option: how long a dead
   * process's entries may outlive its last sign of life. A backplane without it gives presence
   * within each process only.
   */
  presence?(host: PresenceHost, options: { readonly timeout: number }): PresenceStore;
}

/** The `pubsub` option: makes the backplane of one plugin instance. */
export type PubSubFactory = (host: PubSubHost) => PubSub;

/** The default backplane: topics shared by the sockets of one plugin instance in this process. */
export function inProcessPubSub(): PubSubFactory {
  return (host) => ({
    subscribe: () => Promise.resolve(),
    unsubscribe: () => Promise.resolve(),
    publish(topic, message) {
      host.deliver(topic, message);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
    presence: localPresence,
  });
}
