import { createClient } from 'redis';
import { type ChannelListener, type LinkEvents, type RedisLink, reconnectDelay } from './link.js';

type RedisClient = ReturnType<typeof createClient>;

/**
 * One Redis server: one connection publishes (PUBLISH), one subscribes (one channel per topic).
 * node-redis reconnects both and, before the subscriber is ready again, restores its channels.
 */
export class ServerLink implements RedisLink {
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;

  constructor(url: string, events: LinkEvents) {
    this.#publisher = createClient({
      url,
      // Commands wait in the backplane's queue instead, which can withdraw them.
      disableOfflineQueue: true,
      socket: { reconnectStrategy: reconnectDelay },
    });
    this.#subscriber = this.#publisher.duplicate();
    for (const client of [this.#publisher, this.#subscriber]) {
      client.on('error', (error: unknown) => events.failed(error));
      client.on('ready', () => events.ready());
      // node-redis keeps retrying; its errors are reported through the events above.
      client.connect().catch(() => {});
    }
  }

  /**
   * Publishing waits for the subscriber too: a process publishes again only once its own
   * subscriptions are back, so that its own subscribers miss nothing it publishes.
   */
  canPublish(): boolean {
    return this.#publisher.isReady && this.#subscriber.isReady;
  }

  canSubscribe(): boolean {
    return this.#subscriber.isReady;
  }

  healthy(): boolean {
    return this.canPublish();
  }

  /** One connection carries every publish: one lane keeps them all in order. */
  publishLane(): string {
    return '';
  }

  publish(channel: string, payload: Buffer, signal: AbortSignal): Promise<unknown> {
    return this.#publisher.sendCommand(['PUBLISH', channel, payload], { abortSignal: signal });
  }

  command(_key: string, args: string[], signal: AbortSignal): Promise<unknown> {
    return this.#publisher.sendCommand(args, { abortSignal: signal });
  }

  subscribe(channel: string, listener: ChannelListener): Promise<void> {
    return this.#subscriber.subscribe(channel, listener, true);
  }

  unsubscribe(channel: string, listener: ChannelListener): Promise<void> {
    return this.#subscriber.unsubscribe(channel, listener, true);
  }

  async close(): Promise<void> {
    await Promise.allSettled(
      [this.#publisher, this.#subscriber].map((client) =>
        client.isReady ? client.close() : Promise.resolve(client.destroy()),
      ),
    );
  }
}
