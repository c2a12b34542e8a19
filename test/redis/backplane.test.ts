import { expect } from 'chai';
import { createClient } from 'redis';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/waiting.js';
import { Peer, spawnTopicServer, type TopicServer } from './topic-servers.js';

describe('Redis backplane across processes', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let processes: TopicServer[] = [];
  let peers: Peer[] = [];

  beforeEach(async () => {
    redis = await RedisServer.start();
    processes = await Promise.all([
      spawnTopicServer({ REDIS_URL: redis.url }),
      spawnTopicServer({ REDIS_URL: redis.url }),
    ]);
  });

  afterEach(async () => {
    for (const peer of peers) peer.client.terminate();
    peers = [];
    await Promise.all(processes.map((server) => server.stop()));
    await redis.stop();
  });

  async function peer(index: number): Promise<Peer> {
    const opened = await Peer.open(processes[index]?.url ?? '');
    peers.push(opened);
    return opened;
  }

  async function channels(): Promise<{ names: string[]; subscribers: number }> {
    const client = createClient({ url: redis.url });
    await client.connect();
    const names = (await client.pubSubChannels('test:*')).sort();
    const counts = await client.pubSubNumSub(names);
    await client.close();
    return { names, subscribers: Object.values(counts).reduce((a, b) => a + Number(b), 0) };
  }

  it('delivers a publish in one process to subscribers in both, exactly once and in order', async () => {
    const [a1, b1, b2, publisherA, publisherB] = [
      await peer(0),
      await peer(1),
      await peer(1),
      await peer(0),
      await peer(1),
    ];
    for (const subscriber of [a1, b1, b2]) expect(await subscriber.ask('sub room')).to.equal('ok');
    const sent = Array.from({ length: 50 }, (_, i) => `m${i}`);
    for (const text of sent) expect(await publisherA.ask(`pub room ${text}`)).to.equal('ok');
    expect(await publisherB.ask('pub room from-b')).to.equal('ok');
    const expected = [...sent, 'from-b'];
    await until(() => [a1, b1, b2].every((p) => p.received.length >= expected.length));
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const subscriber of [a1, b1, b2]) expect(subscriber.received).to.deep.equal(expected);
    expect(publisherA.received).to.deep.equal([]);
  });

  /** Polls the Redis channel state until it equals `expected` (or returns the last state). */
  async function settle(expected: { names: string[]; subscribers: number }) {
    let state = await channels();
    for (let i = 0; i < 50 && JSON.stringify(state) !== JSON.stringify(expected); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = await channels();
    }
    return state;
  }

  it('holds one Redis subscription per process and topic, dropped when the last local subscriber leaves', async () => {
    const [a1, a2, b1] = [await peer(0), await peer(0), await peer(1)];
    for (const subscriber of [a1, a2, b1]) await subscriber.ask('sub news');
    expect(await channels()).to.deep.equal({ names: ['test:news'], subscribers: 2 });
    a1.client.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await channels()).to.deep.equal({ names: ['test:news'], subscribers: 2 });
    a2.client.close();
    expect(await settle({ names: ['test:news'], subscribers: 1 })).to.deep.equal({
      names: ['test:news'],
      subscribers: 1,
    });
    expect(await b1.ask('unsub news')).to.equal('ok');
    expect(await settle({ names: [], subscribers: 0 })).to.deep.equal({
      names: [],
      subscribers: 0,
    });
  });

  it('socket.publish skips the publishing socket in every process', async () => {
    const [a1, a2, b1] = [await peer(0), await peer(0), await peer(1)];
    for (const subscriber of [a1, a2, b1]) await subscriber.ask('sub chat');
    expect(await a1.ask('pubself chat hello')).to.equal('ok');
    await until(() => a2.received.length === 1 && b1.received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a1.received).to.deep.equal([]);
    expect(a2.received).to.deep.equal(['hello']);
    expect(b1.received).to.deep.equal(['hello']);
  });
});
