import http from 'node:http';
import { expect } from 'chai';
import type { WebSocket as Client } from 'ws';
import {
  inProcessPubSub,
  type PresenceDiff,
  type PresenceEntry,
  type PubSubFactory,
  type WebSocket,
  WebSocketDisconnect,
} from '../lib/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage, received } from './support/clients.js';
import { type App, expressFramework, frameworks } from './support/frameworks.js';
import { serve } from './support/servers.js';
import { deferred, until } from './support/waiting.js';

/*
 * Presence within one process (the default backplane), on both adapters: every row of the
 * contract's presence table that one process can show. Across processes: test/redis/presence.
 */

type Command =
  | { op: 'track'; topic: string; key: string; meta?: unknown; cycle?: boolean; bigint?: boolean }
  | { op: 'untrack'; topic: string }
  | { op: 'subscribe'; topic: string };

/** Accepts, then carries out the client's JSON commands, answering `{ ok }` or `{ error }`. */
async function commands(socket: WebSocket): Promise<void> {
  await socket.accept();
  for await (const command of socket.iterJson<Command>()) {
    try {
      if (command.op === 'track') {
        let meta: unknown = command.meta ?? null;
        if (command.cycle) {
          const cyclic: Record<string, unknown> = {};
          cyclic.self = cyclic;
          meta = cyclic;
        }
        if (command.bigint) meta = { n: 1n };
        await socket.track(command.topic, command.key, meta);
      } else if (command.op === 'untrack') await socket.untrack(command.topic);
      else await socket.subscribe(command.topic);
      await socket.sendJson({ ok: command.op });
    } catch (error) {
      await socket.sendJson({ error: (error as Error).name, message: (error as Error).message });
    }
  }
}

async function ask(client: Client, command: Command): Promise<Record<string, unknown>> {
  const reply = nextMessage(client);
  client.send(JSON.stringify(command));
  return JSON.parse((await reply).data.toString());
}

for (const framework of frameworks) {
  describe(`presence in one process (${framework.name})`, () => {
    let app: App;
    let changes: PresenceDiff[];

    const open = () => connect(`${app.url}/p`);

    beforeEach(async () => {
      app = await framework.serve({}, [{ path: '/p', handler: commands }]);
      changes = [];
      app.sockets.onPresence((diff) => changes.push(diff));
    });
    afterEach(cleanup);

    it('lists every key with its metas in join order; one user with two sockets is one key', async () => {
      expect(await app.sockets.presence('room')).to.deep.equal({});
      const ann1 = await open();
      const bob = await open();
      const ann2 = await open();
      expect(
        await ask(ann1, { op: 'track', topic: 'room', key: 'ann', meta: { tab: 1 } }),
      ).to.deep.equal({ ok: 'track' });
      // Resolved: presence() already shows it.
      expect(await app.sockets.presence('room')).to.deep.equal({ ann: [{ tab: 1 }] });
      await ask(bob, { op: 'track', topic: 'room', key: 'bob' });
      await ask(ann2, { op: 'track', topic: 'room', key: 'ann', meta: { tab: 2 } });
      expect(await app.sockets.presence('room')).to.deep.equal({
        ann: [{ tab: 1 }, { tab: 2 }],
        bob: [null],
      });
      expect(await app.sockets.presence('other')).to.deep.equal({});
      // This process holds the entries: it hears its own first join and every one after.
      expect(changes).to.deep.equal([
        { topic: 'room', joins: { ann: [{ tab: 1 }] }, leaves: {} },
        { topic: 'room', joins: { bob: [null] }, leaves: {} },
        { topic: 'room', joins: { ann: [{ tab: 2 }] }, leaves: {} },
      ]);
    });

    it('tracking again replaces the entry in one change: old in leaves, new in joins, last', async () => {
      const ann = await open();
      const bob = await open();
      await ask(ann, { op: 'track', topic: 'room', key: 'ann', meta: 'away' });
      await ask(bob, { op: 'track', topic: 'room', key: 'bob' });
      changes.length = 0;
      await ask(ann, { op: 'track', topic: 'room', key: 'ann', meta: 'here' });
      expect(changes).to.deep.equal([
        { topic: 'room', joins: { ann: ['here'] }, leaves: { ann: ['away'] } },
      ]);
      expect(Object.keys(await app.sockets.presence('room'))).to.deep.equal(['bob', 'ann']);
    });

    it('untrack removes the entry (one change); without an entry it is harmless', async () => {
      const ann = await open();
      expect(await ask(ann, { op: 'untrack', topic: 'room' })).to.deep.equal({ ok: 'untrack' });
      expect(changes).to.deep.equal([]);
      await ask(ann, { op: 'track', topic: 'room', key: 'ann' });
      await ask(ann, { op: 'untrack', topic: 'room' });
      expect(await app.sockets.presence('room')).to.deep.equal({});
      expect(changes.at(-1)).to.deep.equal({ topic: 'room', joins: {}, leaves: { ann: [null] } });
    });

    for (const how of ['closes cleanly', 'resets its TCP connection'] as const) {
      it(`entries leave when the client ${how}`, async () => {
        const ann = await open();
        await ask(ann, { op: 'track', topic: 'a', key: 'ann' });
        await ask(ann, { op: 'track', topic: 'b', key: 'ann', meta: 2 });
        if (how === 'closes cleanly') ann.close(1000);
        else (ann as unknown as { _socket: { resetAndDestroy(): void } })._socket.resetAndDestroy();
        await closed(ann);
        await until(() => changes.length === 4);
        expect(changes.slice(2)).to.deep.equal([
          { topic: 'a', joins: {}, leaves: { ann: [null] } },
          { topic: 'b', joins: {}, leaves: { ann: [2] } },
        ]);
        expect(await app.sockets.presence('a')).to.deep.equal({});
        expect(await app.sockets.presence('b')).to.deep.equal({});
      });
    }

    it('rejects bad input and tracks nothing: empty key, metas JSON cannot represent, bad topic', async () => {
      const ann = await open();
      const answers = [
        await ask(ann, { op: 'track', topic: 'room', key: '' }),
        await ask(ann, { op: 'track', topic: 'room', key: 'ann', cycle: true }),
        await ask(ann, { op: 'track', topic: 'room', key: 'ann', bigint: true }),
        await ask(ann, { op: 'track', topic: '', key: 'ann' }),
      ];
      expect(answers.map((answer) => answer.error)).to.deep.equal([
        'TypeError',
        'TypeError',
        'TypeError',
        'TypeError',
      ]);
      expect(await app.sockets.presence('room')).to.deep.equal({});
      expect(changes).to.deep.equal([]);
    });

    it('refuses to track before accept, after close(), and once the client left', async () => {
      const outcomes: Record<string, string> = {};
      const done = deferred();
      const handler = async (socket: WebSocket) => {
        outcomes.function = await socket.track('t', 'k', { fn: () => {} }).then(
          () => 'tracked',
          (error: Error) => error.name,
        );
        outcomes.beforeAccept = await socket.track('t', 'k').then(
          () => 'tracked',
          (error: Error) => error.name,
        );
        await socket.accept();
        await socket.receiveText().catch(() => {});
        outcomes.clientLeft = await socket.track('t', 'k').then(
          () => 'tracked',
          (error: Error) =>
            error instanceof WebSocketDisconnect ? 'WebSocketDisconnect' : error.name,
        );
        done.resolve();
      };
      const closing = async (socket: WebSocket) => {
        await socket.accept();
        await socket.close();
        outcomes.afterClose = await socket.track('t', 'k').then(
          () => 'tracked',
          (error: Error) => error.name,
        );
      };
      const served = await framework.serve({}, [
        { path: '/h', handler },
        { path: '/c', handler: closing },
      ]);
      const listened: PresenceDiff[] = [];
      served.sockets.onPresence((diff) => listened.push(diff));
      const first = await connect(`${served.url}/h`);
      first.close();
      await done.promise;
      const second = await connect(`${served.url}/c`);
      await closed(second);
      await until(() => outcomes.afterClose !== undefined);
      expect(outcomes).to.deep.equal({
        function: 'TypeError',
        beforeAccept: 'WebSocketStateError',
        clientLeft: 'WebSocketDisconnect',
        afterClose: 'WebSocketStateError',
      });
      expect(await served.sockets.presence('t')).to.deep.equal({});
      expect(listened).to.deep.equal([]);
    });

    it('subscribers(topic) lists this process’s subscribed sockets; presence needs no subscription', async () => {
      const ann = await open();
      const bob = await open();
      expect(app.sockets.subscribers('room').size).to.equal(0);
      await ask(ann, { op: 'subscribe', topic: 'room' });
      await ask(bob, { op: 'track', topic: 'room', key: 'bob' });
      const subscribers = app.sockets.subscribers('room');
      expect(subscribers.size).to.equal(1);
      const [only] = subscribers;
      expect(app.sockets.clients.has(only as WebSocket)).to.equal(true);
      expect(await app.sockets.presence('room')).to.deep.equal({ bob: [null] });
      expect(() => app.sockets.subscribers('')).to.throw(TypeError);
    });

    it('a removed listener hears nothing; one that throws goes to onError, the others still hear', async () => {
      const heard: string[] = [];
      const remove = app.sockets.onPresence(() => heard.push('removed'));
      remove();
      app.sockets.onPresence(() => {
        throw new Error('listener failed');
      });
      app.sockets.onPresence(({ topic }) => heard.push(topic));
      const ann = await open();
      await ask(ann, { op: 'track', topic: 'room', key: 'ann' });
      expect(heard).to.deep.equal(['room']);
      expect(app.onErrors.map((error) => (error as Error).message)).to.deep.equal([
        'listener failed',
      ]);
    });

    it('sockets.close() removes this process’s entries, as changes, before it resolves', async () => {
      const ann = await open();
      await ask(ann, { op: 'track', topic: 'room', key: 'ann' });
      await app.sockets.close();
      expect(changes.at(-1)).to.deep.equal({ topic: 'room', joins: {}, leaves: { ann: [null] } });
      expect(await app.sockets.presence('room')).to.deep.equal({});
    });
  });
}

describe('presence when the store fails a track', () => {
  afterEach(cleanup);

  it('rejects the track and leaves the socket untracked, here and in the store', async () => {
    const left: PresenceEntry[][] = [];
    // The in-process backplane, with a presence store that cannot write.
    const failing: PubSubFactory = (host) => ({
      ...inProcessPubSub()(host),
      presence: () => ({
        join: () => Promise.reject(new Error('store unreachable')),
        leave: async (_topic, entries) => {
          left.push([...entries]);
        },
        list: async () => [],
        watch() {},
        unwatch() {},
        close: async () => {},
      }),
    });
    const app = await expressFramework.serve({ pubsub: failing }, [
      { path: '/p', handler: commands },
    ]);
    const ann = await connect(`${app.url}/p`);
    expect(await ask(ann, { op: 'track', topic: 'room', key: 'ann' })).to.include({
      error: 'Error',
      message: 'store unreachable',
    });
    // The entry the store may have half-written is removed there too, once.
    await until(() => left.length === 1);
    expect(left[0]?.map((entry) => entry.key)).to.deep.equal(['ann']);
    // Forgotten here: neither the disconnect nor shutdown removes it again.
    ann.close();
    await closed(ann);
    await app.sockets.close();
    expect(left).to.have.length(1);
  });
});

describe("README's presence example (examples/topics/presence.ts)", () => {
  afterEach(cleanup);

  it('lists who is online on join and tells the room who joined and left', async () => {
    const { app, sockets } = await import('../examples/topics/presence.js');
    const served = await serve(http.createServer(app), { sockets });
    const messages = async (client: Client, count: number) => {
      const texts = await received(client, count);
      return texts.slice(0, count).map((text) => JSON.parse(text));
    };
    const ann = await connect(`${served.url}/rooms/a?user=ann`);
    expect(await messages(ann, 2)).to.deep.equal([
      { joined: ['ann'], left: [] },
      { online: ['ann'] },
    ]);
    const bob = await connect(`${served.url}/rooms/a?user=bob`);
    expect(await messages(bob, 2)).to.deep.equal([
      { joined: ['bob'], left: [] },
      { online: ['ann', 'bob'] },
    ]);
    expect((await messages(ann, 3))[2]).to.deep.equal({ joined: ['bob'], left: [] });
    bob.close();
    expect((await messages(ann, 4))[3]).to.deep.equal({ joined: [], left: ['bob'] });
  });
});
