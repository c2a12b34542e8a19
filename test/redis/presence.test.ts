// Presence across processes through a real Redis, on both adapters: server processes (fixture
// presence-server.ts) started, killed, blocked and restarted around one redis-server.
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { PresenceDiff } from '../../lib/index.js';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/waiting.js';
import { Peer, type SpawnedServer, sleep, spawnTopicServer } from './topic-servers.js';

const fixture = fileURLToPath(new URL('./fixtures/presence-server.ts', import.meta.url));
const PRESENCE_TIMEOUT = 1500;

for (const adapter of ['express', 'koa'] as const) {
  describe(`presence across processes through Redis (${adapter})`, function () {
    this.timeout(30_000);
    let redis: RedisServer;
    let servers: SpawnedServer[] = [];
    let peers: Peer[] = [];

    async function start(): Promise<SpawnedServer> {
      const env = {
        REDIS_URL: redis.url,
        ADAPTER: adapter,
        PRESENCE_TIMEOUT: String(PRESENCE_TIMEOUT),
      };
      const server = await spawnTopicServer(env, fixture);
      servers.push(server);
      return server;
    }

    async function peer(server: SpawnedServer): Promise<Peer> {
      const opened = await Peer.open(`${server.url}/p`);
      peers.push(opened);
      return opened;
    }

    async function ask(on: Peer, command: string): Promise<unknown> {
      const answer = await on.ask(command);
      if (answer.startsWith('error ')) throw new Error(answer);
      return answer === 'ok' ? undefined : JSON.parse(answer.slice(3));
    }

    /** The presence of `topic` as `server`'s `sockets.presence()` lists it. */
    async function listed(server: SpawnedServer, topic = 'room'): Promise<unknown> {
      return ask(await peer(server), `list ${topic}`);
    }

    beforeEach(async () => {
      redis = await RedisServer.start();
    });

    afterEach(async () => {
      for (const open of peers) open.client.terminate();
      peers = [];
      await Promise.all(servers.map((server) => server.stop()));
      for (const server of servers)
        expect(server.unhandled, 'unhandled rejections').to.deep.equal([]);
      servers = [];
      await redis.stop();
    });

    it('a process started later sees who is there; one user with two sockets is one key', async () => {
      const [a, b] = [await start(), await start()];
      await ask(await peer(a), 'track room ann {"tab":1}');
      await ask(await peer(b), 'track room bob');
      await ask(await peer(b), 'track room ann {"tab":2}');
      const later = await start();
      const expected = { ann: [{ tab: 1 }, { tab: 2 }], bob: [null] };
      expect(await listed(later)).to.deep.equal(expected);
      expect(await listed(a)).to.deep.equal(expected);
      // Resolved track: every process lists it at once.
      expect(Object.keys((await listed(later)) as object)).to.deep.equal(['ann', 'bob']);
    });

    it('a change reaches every process with local subscribers or entries, once, and no other', async () => {
      const [a, b, c] = [await start(), await start(), await start()];
      await ask(await peer(b), 'sub room');
      await ask(await peer(c), 'track other carl');
      await ask(await peer(a), 'track room ann');
      const join: PresenceDiff = { topic: 'room', joins: { ann: [null] }, leaves: {} };
      await until(() => b.presence.length > 0);
      expect(a.presence).to.deep.equal([join]);
      expect(b.presence).to.deep.equal([join]);
      // Only its own topic: it has no subscriber or entry on 'room'.
      expect(c.presence.map((change) => change.topic)).to.deep.equal(['other']);
    });

    for (const how of ['closes', 'resets its connection'] as const) {
      it(`a socket's entries leave every process when its client ${how}`, async () => {
        const [a, b] = [await start(), await start()];
        await ask(await peer(b), 'sub room');
        const ann = await peer(a);
        await ask(ann, 'track room ann {"n":1}');
        if (how === 'closes') ann.client.close();
        else ann.client.terminate();
        await until(() => b.presence.length === 2, { ms: 2000 });
        expect(b.presence[1]).to.deep.equal({
          topic: 'room',
          joins: {},
          leaves: { ann: [{ n: 1 }] },
        });
        expect(await listed(b)).to.deep.equal({});
      });
    }

    it('a process killed with SIGKILL: its entries leave within presenceTimeout, as one change', async () => {
      const [a, b] = [await start(), await start()];
      await ask(await peer(b), 'sub room');
      await ask(await peer(a), 'track room ann');
      await ask(await peer(a), 'track room bob {"x":1}');
      await ask(await peer(a), 'track room ann {"tab":2}');
      await until(() => b.presence.length === 3);
      await a.stop();
      const killedAt = Date.now();
      await until(() => b.presence.length === 4, { ms: PRESENCE_TIMEOUT + 1000 });
      expect(Date.now() - killedAt).to.be.below(PRESENCE_TIMEOUT + 1000);
      expect(b.presence[3]).to.deep.equal({
        topic: 'room',
        joins: {},
        leaves: { ann: [null, { tab: 2 }], bob: [{ x: 1 }] },
      });
      expect(Object.keys(b.presence[3]?.leaves ?? {})).to.deep.equal(['ann', 'bob']);
      expect(await listed(b)).to.deep.equal({});
    });

    it('a process whose event loop was blocked past presenceTimeout tracks its entries again', async () => {
      const [a, b] = [await start(), await start()];
      await ask(await peer(b), 'sub room');
      const ann = await peer(a);
      await ask(ann, 'track room ann');
      await until(() => b.presence.length === 1);
      await ask(await peer(a), `block ${PRESENCE_TIMEOUT * 2}`);
      await until(() => b.presence.length === 3, { ms: PRESENCE_TIMEOUT * 2 });
      expect(b.presence.slice(1)).to.deep.equal([
        { topic: 'room', joins: {}, leaves: { ann: [null] } },
        { topic: 'room', joins: { ann: [null] }, leaves: {} },
      ]);
      expect(await listed(b)).to.deep.equal({ ann: [null] });
    });

    it('Redis restarting empty loses no live entry for longer than about a second', async () => {
      const [a, b] = [await start(), await start()];
      await ask(await peer(a), 'track room ann');
      await ask(await peer(b), 'track room bob');
      await redis.stop();
      await redis.start();
      const asker = await peer(b);
      const keys = async () =>
        Object.keys(((await ask(asker, 'list room')) as object) ?? {}).sort();
      const deadline = Date.now() + 3000;
      let seen = await keys();
      while (seen.length < 2 && Date.now() < deadline) {
        await sleep(50);
        seen = await keys();
      }
      expect(seen).to.deep.equal(['ann', 'bob']);
      expect(a.errors, 'the outage, reported once').to.have.length.at.most(1);
    });

    it('lists 300 entries on one topic across three processes, grouped by key in join order', async () => {
      const all = [await start(), await start(), await start()];
      for (let i = 0; i < 300; i++) {
        const on = await peer(all[i % 3] as SpawnedServer);
        await ask(on, `track big user${i % 100} {"i":${i}}`);
      }
      const listing = (await listed(all[1] as SpawnedServer, 'big')) as Record<
        string,
        { i: number }[]
      >;
      expect(Object.keys(listing)).to.have.length(100);
      expect(listing.user7?.map((meta) => meta.i)).to.deep.equal([7, 107, 207]);
    });

    it('sockets.close() on shutdown removes the process entries, the others see it', async () => {
      const [a, b] = [await start(), await start()];
      await ask(await peer(b), 'sub room');
      await ask(await peer(a), 'track room ann');
      await until(() => b.presence.length === 1);
      await a.terminate();
      await until(() => b.presence.length === 2, { ms: 2000 });
      expect(b.presence[1]).to.deep.equal({ topic: 'room', joins: {}, leaves: { ann: [null] } });
    });
  });
}
