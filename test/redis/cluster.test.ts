// The Redis backplane on a real Redis Cluster (three masters, one replica each): sharded pub/sub
// across server processes, and a master killed and replaced by its replica.
import { expect } from 'chai';
import { RedisCluster } from '../support/redis-cluster.js';
import { redisCli } from '../support/redis-server.js';
import { until } from '../support/waiting.js';
import { Peer, sleep, spawnTopicServer, type TopicServer } from './topic-servers.js';

type ClusterServer = TopicServer & { readonly unhandled: string[] };

describe('Redis backplane on a Redis Cluster', function () {
  this.timeout(60_000);
  let cluster: RedisCluster | undefined;
  let servers: ClusterServer[] = [];
  const peers: Peer[] = [];
  const topics = Array.from({ length: 8 }, (_, i) => `t${i}`);

  before(async () => {
    cluster = await RedisCluster.start();
    const env = { REDIS_CLUSTER: cluster.rootNodes.map(({ url }) => url).join(',') };
    servers = await Promise.all([spawnTopicServer(env), spawnTopicServer(env)]);
  });

  after(async () => {
    for (const peer of peers) peer.client.terminate();
    await Promise.all(servers.map((server) => server.stop()));
    await cluster?.stop();
  });

  afterEach(() => {
    for (const server of servers) expect(server.unhandled).to.deep.equal([]);
  });

  async function peer(index: number): Promise<Peer> {
    const opened = await Peer.open(servers[index]?.url ?? '');
    peers.push(opened);
    return opened;
  }

  function nodes(): RedisCluster {
    if (!cluster) throw new Error('no cluster');
    return cluster;
  }

  /** `calls` of `cmdstat_<command>` in INFO commandstats of the node on `port`. */
  async function calls(port: number, command: string): Promise<number> {
    const stats = await redisCli(port, 'INFO', 'commandstats');
    return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  }

  /** The sharded channels each master holds (PUBSUB SHARDCHANNELS), by port. */
  async function shardChannels(): Promise<Map<number, string[]>> {
    const result = new Map<number, string[]>();
    for (const master of await nodes().masters()) {
      const listed = await redisCli(master.port, 'PUBSUB', 'SHARDCHANNELS', 'test:*');
      result.set(master.port, listed.split('\n').filter(Boolean).sort());
    }
    return result;
  }

  it('delivers every topic exactly once and in order to subscribers in both processes', async () => {
    const subscribers = [await peer(0), await peer(1)];
    for (const subscriber of subscribers) {
      for (const topic of topics) expect(await subscriber.ask(`sub ${topic}`)).to.equal('ok');
    }
    const publishers = [await peer(0), await peer(1)];
    // Both processes publish to every topic at once, each publisher in its own order.
    await Promise.all(
      publishers.map(async (publisher, p) => {
        for (let n = 0; n < 10; n++) {
          for (const topic of topics) {
            expect(await publisher.ask(`pub ${topic} ${topic}/${p}/${n}`)).to.equal('ok');
          }
        }
      }),
    );
    const total = topics.length * publishers.length * 10;
    await until(() => subscribers.every((s) => s.received.length >= total));
    await sleep(100);
    for (const subscriber of subscribers) {
      expect(subscriber.received).to.have.length(total);
      for (const topic of topics) {
        for (const p of [0, 1]) {
          const prefix = `${topic}/${p}/`;
          const got = subscriber.received.filter((text) => text.startsWith(prefix));
          expect(got).to.deep.equal(Array.from({ length: 10 }, (_, n) => `${prefix}${n}`));
        }
      }
    }
  });

  it('holds one sharded subscription per topic and process, on the shard owning its slot', async () => {
    const held = await shardChannels();
    // The topics are spread over more than one shard (no hash tag puts them in one slot).
    expect([...held.values()].filter((channels) => channels.length > 0).length).to.be.above(1);
    for (const topic of topics) {
      const channel = `test:${topic}`;
      const owner = await nodes().ownerOf(channel);
      expect(held.get(owner)).to.include(channel);
      expect(
        [...held.entries()].filter(([, channels]) => channels.includes(channel)),
      ).to.have.length(1);
      const counts = await redisCli(owner, 'PUBSUB', 'SHARDNUMSUB', channel);
      expect(counts.split('\n')[1]).to.equal('2'); // one connection per process
    }
    // Nothing on classic (cluster-wide) pub/sub.
    for (const port of held.keys()) {
      expect(await redisCli(port, 'PUBSUB', 'CHANNELS', 'test:*')).to.equal('\n');
    }
  });

  it('publishes a message as one SPUBLISH on the owning shard only', async () => {
    const masters = (await nodes().masters()).map((master) => master.port);
    const owner = await nodes().ownerOf('test:t0');
    const before = await Promise.all(masters.map((port) => calls(port, 'spublish')));
    const publishedBefore = await Promise.all(masters.map((port) => calls(port, 'publish')));
    const publisher = await peer(0);
    for (let n = 0; n < 25; n++) expect(await publisher.ask(`pub t0 counted-${n}`)).to.equal('ok');
    const after = await Promise.all(masters.map((port) => calls(port, 'spublish')));
    const grown = masters.map((port, i) => [port, (after[i] ?? 0) - (before[i] ?? 0)]);
    expect(grown).to.deep.equal(masters.map((port) => [port, port === owner ? 25 : 0]));
    expect(await Promise.all(masters.map((port) => calls(port, 'publish')))).to.deep.equal(
      publishedBefore,
    );
  });

  it('survives a master killed and replaced by its replica: delivery resumes, once each and in order', async () => {
    const [a, b] = [await peer(0), await peer(1)];
    for (const subscriber of [a, b]) expect(await subscriber.ask('sub failover')).to.equal('ok');
    const publisher = await peer(0);
    expect(await publisher.ask('pub failover before')).to.equal('ok');
    await until(() => a.received.includes('before') && b.received.includes('before'));
    const errorsBefore = servers.map((server) => server.errors.length);

    const owner = await nodes().ownerOf('test:failover');
    await nodes().kill(owner);
    const killed = Date.now();
    // Publishes go on through the failover: each resolves (it was sent once) or rejects.
    const answered: string[] = [];
    let publishing = true;
    const publishes = (async () => {
      for (let n = 0; publishing; n++) {
        const answer = await publisher.ask(`pub failover during-${n}`);
        if (answer === 'ok') answered.push(`during-${n}`);
        else expect(answer).to.match(/Redis is unreachable/);
        await sleep(20);
      }
    })();
    await nodes().settled();
    const failedOver = Date.now() - killed;
    // Delivery resumes within a few seconds of the replica taking over.
    await until(() => [a, b].every((s) => s.received.some((t) => answered.includes(t))), {
      ms: 10_000,
    });
    publishing = false;
    await publishes;
    const resumed = Date.now() - killed;
    for (let n = 0; n < 10; n++)
      expect(await publisher.ask(`pub failover after-${n}`)).to.equal('ok');
    const after = Array.from({ length: 10 }, (_, n) => `after-${n}`);
    await until(() => [a, b].every((s) => after.every((t) => s.received.includes(t))));
    await sleep(100);
    for (const subscriber of [a, b]) {
      const during = subscriber.received.filter((text) => text.startsWith('during-'));
      // Nothing twice, nothing out of order, nothing that was not answered `ok`.
      expect(during).to.deep.equal(answered.filter((text) => during.includes(text)));
      expect(subscriber.received.filter((text) => text.startsWith('after-'))).to.deep.equal(after);
      expect(subscriber.received[0]).to.equal('before');
      expect(subscriber.closed).to.equal(undefined);
    }
    expect(resumed - failedOver).to.be.below(5000);
    // The outage is reported, not each retry.
    servers.forEach((server, i) => {
      expect(server.errors.length - (errorsBefore[i] ?? 0)).to.be.within(0, 2);
    });
  });
});
