import type { PresenceHost, PresenceStore } from '../server/presence.js';
import type { PubSub, PubSubHost, TopicMessage } from '../server/pubsub.js';
import { CommandQueue } from './command-queue.js';
import type { ChannelListener, LinkEvents, RedisLink } from './link.js';
import { type PresenceChannel, RedisPresence } from './presence.js';
import { decode, encode } from './wire.js';

/**
 * The Redis backplane of one plugin instance, over a link to one server or to a cluster: the
 * topics it holds subscribed, and two command queues (publishing, subscribing) that ride out
 * outages. It reports an outage to the plugin once, when its first connection fails.
 */
export class RedisBackplane implements PubSub, LinkEvents {
  readonly #host: PubSubHost;
  readonly #prefix: string;
  readonly #prefixBytes: number;
  readonly #link: RedisLink;
  readonly #publishing: CommandQueue;
  readonly #subscribing: CommandQueue;
  /** The topics with local subscribers, which the subscriber connection must hold. */
  readonly #topics = new Set<string>();
  /** Presence's channels (one per watched topic), with their listeners. */
  readonly #presenceChannels = new Map<string, ChannelListener>();
  #outage = false;
  #closed = false;
  readonly #listener = (payload: Buffer, channel: Buffer): void => {
    this.#host.deliver(channel.toString('utf8', this.#prefixBytes), decode(payload));
  };

  constructor(
    host: PubSubHost,
    options: { readonly prefix: string; readonly publishTimeout: number },
    link: (events: LinkEvents) => RedisLink,
  ) {
    this.#host = host;
    this.#prefix = options.prefix;
    this.#prefixBytes = Buffer.byteLength(options.prefix);
    this.#link = link(this);
    this.#publishing = new CommandQueue(options.publishTimeout, () => this.#link.canPublish());
    this.#subscribing = new CommandQueue(options.publishTimeout, () => this.#link.canSubscribe());
  }

  subscribe(topic: string): Promise<void> {
    this.#topics.add(topic);
    return this.#subscribeChannel(this.#prefix + topic, true);
  }

  /**
   * Resolves at once: the topic is gone locally. The UNSUBSCRIBE waits for Redis as long as it
   * must, behind the topic's earlier commands; a subscription node-redis restores in the
   * meantime is dropped as soon as the connection is back.
   */
  unsubscribe(topic: string): Promise<void> {
    this.#topics.delete(topic);
    this.#unsubscribeChannel(this.#prefix + topic, this.#listener);
    return Promise.resolve();
  }

  async publish(topic: string, message: TopicMessage): Promise<void> {
    const channel = this.#prefix + topic;
    const payload = encode(message);
    await this.#publishing.run(this.#link.publishLane(channel), {
      send: (signal) => this.#link.publish(channel, payload, signal),
      idempotent: false,
      timed: true,
    });
  }

  /** Presence through the same connections and queues (see `RedisPresence`). */
  presence(host: PresenceHost, options: { readonly timeout: number }): PresenceStore {
    const channel: PresenceChannel = {
      command: (key, args, idempotent) =>
        this.#publishing.run(key, {
          send: (signal) => this.#link.command(key, args, signal),
          idempotent,
          timed: true,
        }),
      publish: (name, payload) =>
        this.#publishing.run(this.#link.publishLane(name), {
          send: (signal) => this.#link.publish(name, payload, signal),
          idempotent: false,
          timed: true,
        }),
      subscribe: (name, listener) => {
        const heard: ChannelListener = (payload) => listener(payload);
        this.#presenceChannels.set(name, heard);
        return this.#subscribeChannel(name, true, heard);
      },
      unsubscribe: (name) => {
        const listener = this.#presenceChannels.get(name);
        if (listener === undefined) return;
        this.#presenceChannels.delete(name);
        this.#unsubscribeChannel(name, listener);
      },
    };
    return new RedisPresence(host, channel, { prefix: this.#prefix, timeout: options.timeout });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#publishing.close();
    this.#subscribing.close();
    await this.#link.close();
  }

  failed(error: unknown): void {
    if (this.#outage || this.#closed) return;
    this.#outage = true;
    this.#host.onError(error);
  }

  ready(): void {
    if (this.#link.healthy()) this.#outage = false;
    this.#subscribing.resume();
    this.#publishing.resume();
  }

  dropped(channel: string): void {
    const presence = this.#presenceChannels.get(channel);
    if (presence || this.#topics.has(channel.slice(this.#prefix.length))) {
      this.#subscribeChannel(channel, false, presence).catch((error: unknown) =>
        this.#report(error),
      );
    }
  }

  /** A caller's subscribe waits at most the timeout; a restoring one until it succeeds. */
  #subscribeChannel(
    channel: string,
    timed: boolean,
    listener: ChannelListener = this.#listener,
  ): Promise<void> {
    return this.#subscribing.run(channel, {
      send: () => this.#link.subscribe(channel, listener),
      idempotent: true,
      timed,
    });
  }

  /**
   * The UNSUBSCRIBE waits for Redis as long as it must, behind the channel's earlier commands;
   * nobody waits for it.
   */
  #unsubscribeChannel(channel: string, listener: ChannelListener): void {
    this.#subscribing
      .run(channel, {
        send: () => this.#link.unsubscribe(channel, listener),
        idempotent: true,
        timed: false,
      })
      .catch((error: unknown) => this.#report(error));
  }

  /** A command nobody waits for failed: the plugin's `onError` hears of it. */
  #report(error: unknown): void {
    if (!this.#closed) this.#host.onError(error);
  }
}
