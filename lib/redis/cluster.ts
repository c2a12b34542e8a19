import { createCluster } from 'redis';
import { type ChannelListener, type LinkEvents, type RedisLink, reconnectDelay } from './link.js';

type RedisCluster = ReturnType<typeof createCluster>;

/**
 * How soon node-redis asks the cluster for its topology again once a node's connection keeps
 * failing (its default is 5 s): a master that failed over is found within about a second of its
 * replica taking over.
 */
const TOPOLOGY_REFRESH_MS = 1000;

/**
 * A Redis Cluster through sharded pub/sub: a topic's channel lives on the shard owning its hash
 * slot, a message is one SPUBLISH to that shard, and a subscription one SSUBSCRIBE there (node-redis
 * keeps one subscriber connection per master). node-redis follows failovers and moved slots
 * (`sharded-channel-moved`) and moves the subscriptions with them.
 */
export class ClusterLink implements RedisLink {
  readonly #cluster: RedisCluster;
  readonly #events: LinkEvents;
  /** Nodes whose connection failed and did not come back (or go away) since. */
  readonly #failing = new Set<string>();
  #closed = false;

  constructor(rootNodes: ReadonlyArray<{ readonly url: string }>, events: LinkEvents) {
    this.#events = events;
    this.#cluster = createCluster({
      rootNodes: rootNodes.map(({ url }) => ({ url })),
      defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: reconnectDelay } },
      topologyRefreshOnReconnectionAttemptStrategy: TOPOLOGY_REFRESH_MS,
    });
    const address = (node: { host: string; port: number }) => `${node.host}:${node.port}`;
    this.#cluster.on('error', (error: unknown) => events.failed(error));
    this.#cluster.on('node-error', (error: unknown, node: { host: string; port: number }) => {
      this.#failing.add(address(node));
      events.failed(error);
    });
    for (const settled of ['node-ready', 'node-disconnect']) {
      this.#cluster.on(settled, (node: { host: string; port: number }) => {
        this.#failing.delete(address(node));
        events.ready();
      });
    }
    this.#cluster.on('connect', () => events.ready());
    this.#cluster.on('sharded-channel-moved-error', (_error: unknown, channel: string) =>
      events.dropped(channel),
    );
    this.#connect(0);
  }

  /** Connects (discovers the slots) until it succeeds: node-redis does not retry that itself. */
  #connect(attempt: number): void {
    if (this.#closed) return;
    this.#cluster.connect().catch((error: unknown) => {
      if (this.#closed) return;
      this.#events.failed(error);
      setTimeout(() => this.#connect(attempt + 1), reconnectDelay(attempt)).unref();
    });
  }

  canPublish(): boolean {
    return this.#cluster.isReady;
  }

  canSubscribe(): boolean {
    return this.#cluster.isReady;
  }

  healthy(): boolean {
    return this.#cluster.isReady && this.#failing.size === 0;
  }

  /** Each shard has its own connection: order is kept per topic (per channel). */
  publishLane(channel: string): string {
    return channel;
  }

  publish(channel: string, payload: Buffer, signal: AbortSignal): Promise<unknown> {
    return this.#cluster.sendCommand(channel, false, ['SPUBLISH', channel, payload], {
      abortSignal: signal,
    });
  }

  command(key: string, args: string[], signal: AbortSignal): Promise<unknown> {
    return this.#cluster.sendCommand(key, false, args, { abortSignal: signal });
  }

  subscribe(channel: string, listener: ChannelListener): Promise<void> {
    return this.#cluster.sSubscribe(channel, listener, true);
  }

  unsubscribe(channel: string, listener: ChannelListener): Promise<void> {
    return this.#cluster.sUnsubscribe(channel, listener, true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#cluster.isOpen) await this.#cluster.close().catch(() => this.#cluster.destroy());
  }
}
