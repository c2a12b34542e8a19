import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, RedisServer, redisCli } from './redis-server.js';

const run = promisify(execFile);

/** One line of `CLUSTER NODES`: a node, its role and, for a master, its slot ranges. */
export interface ClusterNode {
  readonly port: number;
  readonly master: boolean;
  /** Whether the cluster sees it as failed. */
  readonly failed: boolean;
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/**
 * A throwaway Redis Cluster on 127.0.0.1: three masters with one replica each, no persistence.
 * Node timeout 1 s, so that a killed master's replica takes over within a few seconds.
 */
export class RedisCluster {
  readonly nodes: readonly RedisServer[];
  readonly #dir: string;

  private constructor(nodes: readonly RedisServer[], dir: string) {
    this.nodes = nodes;
    this.#dir = dir;
  }

  /** Starts six nodes, joins them into a cluster and waits until every node says it is ok. */
  static async start(): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-cluster-'));
    const ports: number[] = [];
    while (ports.length < 6) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be free (and distinct).
      if (!ports.includes(port) && port + 10_000 < 65_536) ports.push(port);
    }
    const nodes = ports.map(
      (port) =>
        new RedisServer(port, [
          ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
          ...['--cluster-node-timeout', '1000', '--dir', dir],
          // A replica that never synced cannot take over: sync at once, not after 5 s.
          ...['--repl-diskless-sync-delay', '0'],
        ]),
    );
    const cluster = new RedisCluster(nodes, dir);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...ports.map((port) => `127.0.0.1:${port}`),
          ...['--cluster-replicas', '1', '--cluster-yes'],
        ],
        { timeout: 30_000 },
      );
      await cluster.settled();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Root node URLs for `redisPubSub({ cluster: { rootNodes } })`. */
  get rootNodes(): { url: string }[] {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  /** The cluster as a live node sees it. */
  async layout(): Promise<ClusterNode[]> {
    const live = this.nodes.find((node) => node.running);
    if (!live) throw new Error('no node of the cluster runs');
    return (await redisCli(live.port, 'CLUSTER', 'NODES'))
      .trim()
      .split('\n')
      .map((line) => {
        const [, address = '', flags = '', , , , , , ...slots] = line.split(' ');
        return {
          port: Number(address.split(':')[1]?.split('@')[0]),
          master: flags.includes('master'),
          failed: flags.includes('fail') && !flags.includes('fail?'),
          slots: slots
            .filter((range) => !range.startsWith('['))
            .map((range) => {
              const [from = '', to = from] = range.split('-');
              return [Number(from), Number(to)] as const;
            }),
        };
      });
  }

  /** The masters that serve slots (a killed one, until the cluster notices). */
  async masters(): Promise<ClusterNode[]> {
    return (await this.layout()).filter((node) => node.master && !node.failed && node.slots.length);
  }

  /** The port of the master serving the hash slot of `key`. */
  async ownerOf(key: string): Promise<number> {
    const live = this.nodes.find((node) => node.running);
    const slot = Number(await redisCli(live?.port ?? 0, 'CLUSTER', 'KEYSLOT', key));
    const owner = (await this.masters()).find((node) =>
      node.slots.some(([from, to]) => from <= slot && slot <= to),
    );
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner.port;
  }

  /** Kills the node on `port` (SIGKILL). */
  async kill(port: number): Promise<void> {
    await this.nodes.find((node) => node.port === port)?.stop();
  }

  /**
   * Resolves once every running node reports `cluster_state:ok`, three running masters serve
   * the slots (after a kill: the replica took over) and every replica of a running master is in
   * sync with it; rejects after `ms`.
   */
  async settled(ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const running = this.nodes.filter((node) => node.running);
      const [states, replication, masters] = await Promise.all([
        Promise.all(running.map((node) => redisCli(node.port, 'CLUSTER', 'INFO').catch(() => ''))),
        Promise.all(
          running.map((node) => redisCli(node.port, 'INFO', 'replication').catch(() => '')),
        ),
        this.masters(),
      ]);
      const alive = new Set(running.map((node) => node.port));
      const syncing = replication.filter(
        (info, i) =>
          info.includes('role:slave') &&
          alive.has(Number(/master_port:(\d+)/.exec(info)?.[1])) &&
          !info.includes('master_link_status:up') &&
          running[i] !== undefined,
      );
      if (
        states.every((info) => info.includes('cluster_state:ok')) &&
        masters.length === 3 &&
        masters.every((master) => alive.has(master.port)) &&
        syncing.length === 0
      ) {
        return;
      }
      if (Date.now() > deadline) throw new Error(`the cluster did not settle within ${ms} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Kills every node and removes their files. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
