import { createClient } from 'redis';
import type { PubSub, PubSubFactory, PubSubHost, TopicMessage } from '../server/pubsub.js';

/** Options of {@link redisPubSub}. */
export interface RedisPubSubOptions {
  /** The Redis server. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Prepended to every topic to make its channel name, so apps can share a Redis. Default `wsgate:`. */
  prefix?: string;
}

type RedisClient = ReturnType<typeof createClient>;

const BINARY = 1;

/**
 * Wire form of a message in one Redis payload: a flags byte, the length of the skipped
 * publisher's id and the id, then the data. Publishing costs one copy, whatever the audience.
 */
function encode(message: TopicMessage): Buffer {
  const skip = message.skip ?? '';
  const head = Buffer.allocUnsafe(2 + skip.length);
  head[0] = message.binary ? BINARY : 0;
  head[1] = head.write(skip, 2, 'latin1');
  return Buffer.concat([head, message.data]);
}

function decode(payload: Buffer): TopicMessage {
  const skipLength = payload[1] ?? 0;
  const message: TopicMessage = {
    data: payload.subarray(2 + skipLength),
    binary: ((payload[0] ?? 0) & BINARY) !== 0,
  };
  if (skipLength > 0) message.skip = payload.toString('latin1', 2, 2 + skipLength);
  return message;
}

/**
 * The Redis backplane behind {@link redisPubSub}: one connection publishes (one PUBLISH per
 * message), one subscribes (one channel per topic with local subscribers). Commands are never
 * queued while Redis is unreachable: they reject, and `node-redis` reconnects and restores the
 * subscriptions by itself.
 */
class RedisPubSub implements PubSub {
  readonly #host: PubSubHost;
  readonly #prefix: string;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  /** Settles on the first connection of both clients, or on the first error before it. */
  readonly #firstAttempt: Promise<void>;
  #healthy = true;
  readonly #prefixBytes: number;
  readonly #listener = (payload: Buffer, channel: Buffer): void => {
    this.#host.deliver(channel.toString('utf8', this.#prefixBytes), decode(payload));
  };

  constructor(options: RedisPubSubOptions, host: PubSubHost) {
    this.#host = host;
    this.#prefix = options.prefix ?? 'wsgate:';
    this.#prefixBytes = Buffer.byteLength(this.#prefix);
    this.#publisher = createClient({
      url: options.url ?? 'redis://127.0.0.1:6379',
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
    });
    this.#subscriber = this.#publisher.duplicate();
    let failFirst: (error: unknown) => void = () => {};
    const failed = new Promise<never>((_, reject) => {
      failFirst = reject;
    });
    for (const client of [this.#publisher, this.#subscriber]) {
      client.on('error', (error: unknown) => {
        failFirst(error);
        // Reconnection attempts fail repeatedly while Redis is down: report an outage once.
        if (this.#healthy) {
          this.#healthy = false;
          this.#host.onError(error);
        }
      });
      client.on('ready', () => {
        this.#healthy = true;
      });
    }
    const connected = Promise.all([this.#publisher.connect(), this.#subscriber.connect()]);
    this.#firstAttempt = Promise.race([connected, failed]).then(() => undefined);
    this.#firstAttempt.catch(() => {});
    connected.catch(() => {});
  }

  async subscribe(topic: string): Promise<void> {
    await this.#usable(this.#subscriber);
    await this.#subscriber.subscribe(this.#prefix + topic, this.#listener, true);
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.#usable(this.#subscriber);
    await this.#subscriber.unsubscribe(this.#prefix + topic, this.#listener, true);
  }

  async publish(topic: string, message: TopicMessage): Promise<void> {
    await this.#usable(this.#publisher);
    await this.#publisher.publish(this.#prefix + topic, encode(message));
  }

  async close(): Promise<void> {
    await Promise.allSettled(
      [this.#publisher, this.#subscriber].map((client) =>
        client.isReady ? client.close() : Promise.resolve(client.destroy()),
      ),
    );
  }

  /** Waits for the first connection; afterwards an unreachable Redis rejects at once. */
  async #usable(client: RedisClient): Promise<void> {
    if (client.isReady) return;
    await this.#firstAttempt;
    if (!client.isReady) throw new Error('wsgate: Redis is unreachable');
  }
}

/**
 * A topic backplane through Redis pub/sub, for the `pubsub` plugin option: every process using
 * the same Redis (and `prefix`) shares topics. Redis pub/sub delivers only to processes connected
 * when a message is published: no persistence, no replay.
 *
 * @example
 * app.use(websocket({ pubsub: redisPubSub({ url: process.env.REDIS_URL }) }));
 */
export function redisPubSub(options: RedisPubSubOptions = {}): PubSubFactory {
  return (host) => new RedisPubSub(options, host);
}
