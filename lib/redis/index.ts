import type { PubSubFactory } from '../server/pubsub.js';
import { RedisBackplane } from './backplane.js';
import { ClusterLink } from './cluster.js';
import { ServerLink } from './server.js';

/** Options of {@link redisPubSub}. */
export interface RedisPubSubOptions {
  /** The Redis server. Default `redis://127.0.0.1:6379`. Not with `cluster`. */
  url?: string;
  /**
   * A Redis Cluster (Redis 7 or later) instead of one server: topics use sharded pub/sub
   * (`SSUBSCRIBE`/`SPUBLISH`), each on the shard owning its channel's hash slot. `rootNodes` are
   * the nodes asked for the cluster's layout; the others are discovered. Not with `url`.
   *
   * @example
   * redisPubSub({ cluster: { rootNodes: [{ url: 'redis://10.0.0.1:6379' }] } })
   */
  cluster?: RedisClusterPubSubOptions;
  /** Prepended to every topic to make its channel name, so apps can share a Redis. Default `wsgate:`. */
  prefix?: string;
  /**
   * How long (ms) `publish`, `publishJson` and `subscribe` wait for Redis while it is
   * unreachable (down, reconnecting, or a cluster shard failing over) before they reject with an
   * `Error` saying Redis is unreachable. Longer rides out longer outages, at the cost of callers
   * waiting that long (and of the memory of what waits) before they learn Redis is gone. A
   * publish that rejected is never delivered later. Default 5 000.
   */
  publishTimeout?: number;
}

/** The `cluster` option of {@link redisPubSub}. */
export interface RedisClusterPubSubOptions {
  /** Nodes of the cluster to discover it from (at least one must answer). */
  rootNodes: ReadonlyArray<{ readonly url: string }>;
}

/**
 * A topic backplane through Redis pub/sub, for the `pubsub` plugin option: every process using
 * the same Redis (and `prefix`) shares topics. Redis pub/sub delivers only to processes connected
 * when a message is published: no persistence, no replay. While Redis is unreachable, calls wait
 * for it (at most `publishTimeout`) and the sockets stay up.
 *
 * @example
 * app.use(websocket({ pubsub: redisPubSub({ url: process.env.REDIS_URL }) }));
 */
export function redisPubSub(options: RedisPubSubOptions = {}): PubSubFactory {
  const { url, cluster, prefix = 'wsgate:', publishTimeout = 5000 } = options;
  if (url !== undefined && cluster !== undefined) {
    throw new TypeError('redisPubSub: give either `url` (one server) or `cluster`, not both');
  }
  if (cluster !== undefined && !(Array.isArray(cluster.rootNodes) && cluster.rootNodes.length)) {
    throw new TypeError('redisPubSub: `cluster.rootNodes` must list at least one node');
  }
  if (!(typeof publishTimeout === 'number' && publishTimeout > 0 && publishTimeout < 2 ** 31)) {
    throw new TypeError(`redisPubSub: \`publishTimeout\` must be a positive number of ms`);
  }
  return (host) =>
    new RedisBackplane(host, { prefix, publishTimeout }, (events) =>
      cluster === undefined
        ? new ServerLink(url ?? 'redis://127.0.0.1:6379', events)
        : new ClusterLink(cluster.rootNodes, events),
    );
}
