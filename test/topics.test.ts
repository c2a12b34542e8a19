import { expect } from 'chai';
import type { WebSocket as Client } from 'ws';
import { type PubSubFactory, WebSocketStateError } from '../lib/index.js';
import { inProcessPubSub } from '../lib/server/index.js';
import { cleanup } from './support/cleanup.js';
import { closed, connect, nextMessage } from './support/clients.js';
import { type PlainServer, plainServer } from './support/plain-server.js';
import { deferred, until } from './support/waiting.js';

/** Client commands the test server's handler carries out, answering 'ok' or the error's name. */
type Command =
  | { op: 'sub' | 'unsub'; topic: string }
  | { op: 'pub'; topic: string; text?: string; bytes?: number[] }
  | { op: 'pubJson'; topic: string; value: unknown; mode?: 'text' | 'binary' }
  | { op: 'topics' };

async function topicServer(options: Parameters<typeof plainServer>[1] = {}) {
  return plainServer(async (socket) => {
    await socket.accept();
    for await (const command of socket.iterJson<Command>()) {
      try {
        if (command.op === 'sub') await socket.subscribe(command.topic);
        else if (command.op === 'unsub') await socket.unsubscribe(command.topic);
        else if (command.op === 'pub') {
          await socket.publish(command.topic, command.text ?? Buffer.from(command.bytes ?? []));
        } else if (command.op === 'pubJson') {
          await socket.publishJson(command.topic, command.value, { mode: command.mode });
        } else {
          await socket.sendJson([...socket.topics]);
          continue;
        }
        await socket.sendText('ok');
      } catch (error) {
        await socket.sendText((error as Error).name);
      }
    }
  }, options);
}

async function ask(client: Client, command: Command): Promise<string> {
  const reply = nextMessage(client);
  client.send(JSON.stringify(command));
  return (await reply).data.toString();
}

/** A backplane that records what the plugin asked of it, around the in-process one. */
function recordingPubSub() {
  const calls: string[] = [];
  const factory: PubSubFactory = (host) => {
    const inner = inProcessPubSub()(host);
    return {
      subscribe(topic) {
        calls.push(`sub ${topic}`);
        return inner.subscribe(topic);
      },
      unsubscribe(topic) {
        calls.push(`unsub ${topic}`);
        return inner.unsubscribe(topic);
      },
      publish(topic, message) {
        calls.push(`pub ${topic}`);
        return inner.publish(topic, message);
      },
      close() {
        calls.push('close');
        return inner.close();
      },
    };
  };
  return { calls, factory };
}

describe('topics (in-process backplane)', () => {
  let current: PlainServer | undefined;
  afterEach(async () => {
    current = undefined;
    await cleanup();
  });

  async function join(topic: string): Promise<Client> {
    const client = await connect(current?.url ?? '');
    expect(await ask(client, { op: 'sub', topic })).to.equal('ok');
    return client;
  }

  it('delivers sockets.publish to every subscriber once, text as text and bytes as binary', async () => {
    current = await topicServer();
    const [a, b] = [await join('news'), await join('news')];
    const other = await join('sport');
    let strays = 0;
    other.on('message', () => strays++);
    for (const [data, binary] of [
      ['hello', false],
      [new Uint8Array([1, 2]), true],
    ] as const) {
      const got = [nextMessage(a), nextMessage(b)];
      await current.gateway.publish('news', data);
      for (const message of await Promise.all(got)) {
        expect(message.isBinary).to.equal(binary);
        expect([...message.data]).to.deep.equal([...Buffer.from(data)]);
      }
    }
    expect(await ask(other, { op: 'topics' })).to.equal('["sport"]');
    expect(strays).to.equal(1); // only the reply to 'topics'
  });

  it('publishJson mirrors sendJson, and rejects values JSON cannot represent', async () => {
    current = await topicServer();
    const a = await join('t');
    const text = nextMessage(a);
    await current.gateway.publishJson('t', { n: 1 });
    expect((await text).isBinary).to.equal(false);
    const binary = nextMessage(a);
    await current.gateway.publishJson('t', { n: 2 }, { mode: 'binary' });
    const message = await binary;
    expect(message.isBinary).to.equal(true);
    expect(JSON.parse(message.data.toString())).to.deep.equal({ n: 2 });
    let error: unknown;
    await current.gateway.publishJson('t', 10n).catch((e) => {
      error = e;
    });
    expect(error).to.be.instanceOf(TypeError);
  });

  it('socket.publish reaches everyone on the topic except the publisher', async () => {
    current = await topicServer();
    const [a, b, c] = [await join('room'), await join('room'), await join('room')];
    const heard: string[] = [];
    a.on('message', (data: Buffer) => heard.push(data.toString()));
    const atB = nextMessage(b);
    const atC = nextMessage(c);
    expect(await ask(a, { op: 'pub', topic: 'room', text: 'from a' })).to.equal('ok');
    expect((await atB).data.toString()).to.equal('from a');
    expect((await atC).data.toString()).to.equal('from a');
    const json = nextMessage(b);
    expect(await ask(a, { op: 'pubJson', topic: 'room', value: [1] })).to.equal('ok');
    expect((await json).data.toString()).to.equal('[1]');
    expect(heard).to.deep.equal(['ok', 'ok']);
  });

  it('publishing to a topic nobody is on is a no-op', async () => {
    const { calls, factory } = recordingPubSub();
    current = await topicServer({ pubsub: factory });
    await current.gateway.publish('empty', 'x');
    expect(calls).to.deep.equal(['pub empty']);
  });

  it('subscribes the backplane once per topic, and unsubscribes when the last one leaves', async () => {
    const { calls, factory } = recordingPubSub();
    current = await topicServer({ pubsub: factory });
    const a = await join('x');
    const b = await join('x');
    expect(await ask(a, { op: 'sub', topic: 'x' })).to.equal('ok'); // twice is harmless
    expect(calls).to.deep.equal(['sub x']);
    expect(await ask(a, { op: 'unsub', topic: 'x' })).to.equal('ok');
    expect(calls).to.deep.equal(['sub x']);
    b.close();
    await until(() => calls.length === 2);
    expect(calls).to.deep.equal(['sub x', 'unsub x']);
    expect(await ask(a, { op: 'topics' })).to.equal('[]');
  });

  it('empties socket.topics as soon as the client disconnects', async () => {
    const left = deferred<number>();
    current = await plainServer(async (socket) => {
      await socket.accept();
      await socket.receiveText();
      await socket.subscribe('a');
      await socket.subscribe('b');
      await socket.sendText(String(socket.topics.size));
      await socket.receiveText().catch(() => left.resolve(socket.topics.size));
    });
    const client = await connect(current.url);
    const subscribed = nextMessage(client);
    client.send('go');
    expect((await subscribed).data.toString()).to.equal('2');
    client.terminate();
    expect(await left.promise).to.equal(0);
  });

  it('refuses bad calls with the documented errors', async () => {
    const seen = deferred<string[]>();
    current = await plainServer(async (socket) => {
      const names: string[] = [];
      const attempt = (call: () => Promise<unknown>) =>
        call().then(
          () => names.push('ok'),
          (error: Error) => names.push(error.constructor.name),
        );
      await attempt(() => socket.subscribe('early'));
      await socket.accept();
      await attempt(() => socket.subscribe(''));
      await attempt(() => socket.publish('t', 42 as unknown as string));
      await attempt(() => socket.publishJson('t', undefined));
      await attempt(() => socket.publishJson('t', 1, { mode: 'csv' as 'text' }));
      await socket.close();
      await attempt(() => socket.subscribe('late'));
      seen.resolve(names);
    });
    await connect(current.url);
    expect(await seen.promise).to.deep.equal([
      WebSocketStateError.name,
      'TypeError',
      'TypeError',
      'TypeError',
      'TypeError',
      WebSocketStateError.name,
    ]);
  });

  it('closes a subscriber with 1013 when more than publishBuffer waits, without stalling others', async () => {
    const publishBuffer = 256 * 1024;
    current = await topicServer({ publishBuffer });
    const fast = await join('firehose');
    const slow = await join('firehose');
    const raw = (slow as unknown as { _socket: import('node:net').Socket })._socket;
    raw.pause();
    let fastCount = 0;
    fast.on('message', () => fastCount++);
    const count = 2000;
    const payload = Buffer.alloc(16 * 1024, 7); // 32 MiB in all
    for (let i = 0; i < count; i++) {
      await current.gateway.publish('firehose', payload);
      // A real publisher lives in the event loop: let the network drain between publishes.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => fastCount === count);
    const closing = closed(slow);
    raw.resume();
    expect((await closing).code).to.equal(1013);
    await until(() => current?.gateway.clients.size === 1);
  });

  it('delivers one message to each of 1,000 subscribers', async function () {
    this.timeout(30_000);
    current = await topicServer();
    const many: Client[] = [];
    for (let i = 0; i < 1000; i++) many.push(await connect(current.url));
    await Promise.all(many.map((client) => ask(client, { op: 'sub', topic: 'all' })));
    const counts = new Array<number>(many.length).fill(0);
    many.forEach((client, i) => {
      client.on('message', () => {
        counts[i] = (counts[i] ?? 0) + 1;
      });
    });
    await current.gateway.publish('all', 'hello everyone');
    await until(() => counts.every((n) => n >= 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(counts.every((n) => n === 1)).to.equal(true);
  });

  it('sockets.close() closes the backplane it created', async () => {
    const { calls, factory } = recordingPubSub();
    const server = await topicServer({ pubsub: factory });
    await server.close();
    expect(calls).to.deep.equal(['close']);
  });
});
