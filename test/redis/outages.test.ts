// The Redis backplane through Redis restarts: a short outage (shorter than publishTimeout) is
// ridden out, a long one fails the calls that waited, and neither closes a socket or crashes.
import { expect } from 'chai';
import { redisPubSub } from 'wsgate/redis';
import type { Gateway } from '../../lib/server/index.js';
import type { PubSubFactory } from '../../lib/server/pubsub.js';
import { RedisServer, redisCli } from '../support/redis-server.js';
import { until } from '../support/waiting.js';
import { Peer, sleep, type TopicServer, topicServerHere } from './topic-servers.js';

type HereServer = TopicServer & { readonly gateway: Gateway };

describe('Redis backplane: outages', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let servers: HereServer[] = [];
  let peers: Peer[] = [];
  const unhandled: unknown[] = [];
  const recordUnhandled = (reason: unknown) => unhandled.push(reason);

  before(() => process.on('unhandledRejection', recordUnhandled));
  after(() => process.off('unhandledRejection', recordUnhandled));

  beforeEach(async () => {
    unhandled.length = 0;
    redis = await RedisServer.start();
  });

  afterEach(async () => {
    for (const peer of peers) peer.client.terminate();
    peers = [];
    await Promise.all(servers.map((server) => server.stop()));
    servers = [];
    await redis.stop();
  });

  /** Two servers (two plugin instances, each with its own connections) on this Redis. */
  async function twoServers(options: { publishTimeout?: number } = {}) {
    const pubsub = (): PubSubFactory =>
      redisPubSub({ url: redis.url, prefix: 'test:', ...options });
    const pair: [HereServer, HereServer] = [
      await topicServerHere(pubsub()),
      await topicServerHere(pubsub()),
    ];
    servers = pair;
    return pair;
  }

  async function peer(server: TopicServer): Promise<Peer> {
    const opened = await Peer.open(server.url);
    peers.push(opened);
    return opened;
  }

  /** The channels subscribed in Redis, as `PUBSUB CHANNELS test:*` lists them. */
  async function channels(): Promise<string[]> {
    return (await redisCli(redis.port, 'PUBSUB', 'CHANNELS', 'test:*'))
      .split('\n')
      .filter(Boolean)
      .sort();
  }

  /** Stops Redis and waits until both servers noticed (their onError heard of it). */
  async function outage(): Promise<void> {
    await redis.stop();
    await until(() => servers.every((server) => server.errors.length > 0));
  }

  /**
   * Publishes `<text>-<n>` to `room` from the first server, n = 0, 1, ..., until one of them
   * reached every receiver (a subscriber may be back later than a publisher). A probe may be
   * rejected while the server is still reconnecting (longer than a short publishTimeout): a
   * rejected publish is never delivered, so the next one is tried.
   */
  async function probe(text: string, ...receivers: Peer[]): Promise<void> {
    const [a] = servers;
    const deadline = Date.now() + 5000;
    for (let n = 0; ; n++) {
      await a?.gateway.publish('room', `${text}-${n}`).catch(() => {});
      await sleep(50);
      const reached = (p: Peer) => p.received.some((received) => received.startsWith(`${text}-`));
      if (receivers.every(reached)) return;
      if (Date.now() > deadline) throw new Error(`${text} did not arrive`);
    }
  }

  /** What `peer` received but the probes. */
  function except(probe: string, peer: Peer): string[] {
    return peer.received.filter((text) => !text.startsWith(`${probe}-`));
  }

  it('a short outage: publishes wait, then are delivered once each and in order; subscribes wait', async () => {
    const [a, b] = await twoServers();
    const [a1, b1] = [await peer(a), await peer(b)];
    for (const subscriber of [a1, b1]) expect(await subscriber.ask('sub room')).to.equal('ok');
    await a.gateway.publish('room', 'before');
    await until(() => a1.received.length === 1 && b1.received.length === 1);

    await outage();
    // Not awaited one by one: their order is the order of the calls.
    const sent = Array.from({ length: 20 }, (_, i) => `during-${i}`);
    const publishes = sent.map((text) => a.gateway.publish('room', text));
    const settled = Promise.allSettled(publishes);
    const late = await peer(a);
    // A new topic: its subscribe waits for Redis.
    const lateSubscribe = late.ask('sub late').then((answer) => ({ answer, at: Date.now() }));
    await sleep(1500);
    await redis.start();
    const restarted = Date.now();

    const outcomes = await settled;
    const resumedAfter = Date.now() - restarted;
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(sent.map(() => 'fulfilled'));
    // Reconnection is tried at least every second.
    expect(resumedAfter).to.be.below(2000);
    const subscribed = await lateSubscribe;
    expect(subscribed.answer).to.equal('ok');
    expect(subscribed.at).to.be.at.least(restarted);
    // This process's own subscriptions are back before it publishes again: nothing is missed.
    await until(() => a1.received.length === 1 + sent.length);
    await probe('after', a1, b1);
    await sleep(200);
    expect(except('after', a1)).to.deep.equal(['before', ...sent]);
    // Another process gets what it was back in time for, once each and in order.
    const atB = b1.received.filter((text) => text.startsWith('during-'));
    expect(atB).to.deep.equal(sent.slice(sent.length - atB.length));
    expect(b1.received[0]).to.equal('before');
    await b.gateway.publish('late', 'to the late one');
    await until(() => late.received.length === 1);
    expect(late.received).to.deep.equal(['to the late one']);

    // One report per outage and process, not one per reconnection attempt; no socket closed.
    expect(a.errors).to.have.length(1);
    expect(b.errors).to.have.length(1);
    for (const p of [a1, b1, late]) expect(p.closed).to.equal(undefined);
    expect(unhandled).to.deep.equal([]);
  });

  it('a long outage: calls reject after publishTimeout, and what rejected is never delivered', async () => {
    const [a, b] = await twoServers({ publishTimeout: 800 });
    const [a1, b1, leaver] = [await peer(a), await peer(b), await peer(b)];
    for (const subscriber of [a1, b1]) await subscriber.ask('sub room');
    await leaver.ask('sub gone');
    expect(await channels()).to.deep.equal(['test:gone', 'test:room']);

    await outage();
    const started = Date.now();
    const rejected = a.gateway.publish('room', 'lost').then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    // A subscribe that fails in an outage leaves the socket off the topic and crashes nothing.
    const failedSubscribe = (await peer(a)).ask('sub never');
    // The last subscriber of a topic leaves during the outage.
    expect(await leaver.ask('unsub gone')).to.equal('ok');
    expect(await rejected).to.match(/Redis is unreachable/);
    expect(Date.now() - started).to.be.within(700, 1500);
    expect(await failedSubscribe).to.match(/^error .*Redis is unreachable/);

    await sleep(1500); // an outage twice as long as publishTimeout
    await redis.start();
    await probe('after', a1, b1);
    await sleep(300);
    expect(except('after', a1)).to.deep.equal([]);
    expect(except('after', b1)).to.deep.equal([]);
    // Topics that still have subscribers are back; the emptied one and the failed one are not.
    expect(await channels()).to.deep.equal(['test:room']);

    expect(a.errors).to.have.length(1);
    expect(b.errors).to.have.length(1);
    for (const p of peers) expect(p.closed).to.equal(undefined);
    expect(unhandled).to.deep.equal([]);
  });

  it('a subscribe that fails while the unsubscribe undoing it fails too crashes nothing', async () => {
    const down = new Error('backplane down');
    const failing: PubSubFactory = () => ({
      subscribe: () => Promise.reject(down),
      unsubscribe: () => Promise.reject(down),
      publish: () => Promise.reject(down),
      close: () => Promise.resolve(),
    });
    const server = await topicServerHere(failing);
    servers = [server];
    const subscriber = await peer(server);
    expect(await subscriber.ask('sub room')).to.equal('error backplane down');
    await sleep(50);
    expect(unhandled).to.deep.equal([]);
    expect(server.errors).to.deep.equal([String(down)]);
    expect(subscriber.closed).to.equal(undefined);
  });
});

describe('redisPubSub options', () => {
  it('refuses `url` with `cluster`, an empty cluster and a publishTimeout that is no duration', () => {
    const rootNodes = [{ url: 'redis://127.0.0.1:7000' }];
    expect(() => redisPubSub({ url: 'redis://127.0.0.1:6379', cluster: { rootNodes } })).to.throw(
      TypeError,
    );
    expect(() => redisPubSub({ cluster: { rootNodes: [] } })).to.throw(TypeError);
    for (const publishTimeout of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => redisPubSub({ publishTimeout })).to.throw(TypeError);
    }
  });
});
