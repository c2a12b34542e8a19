import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createClient } from 'redis';
import { WebSocket as Client } from 'ws';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/waiting.js';

const fixture = fileURLToPath(new URL('./fixtures/topic-server.ts', import.meta.url));

interface TopicProcess {
  url: string;
  errors: string[];
  child: ChildProcess;
}

/** Starts one server process on the Redis backplane and waits for its port. */
async function startProcess(redisUrl: string): Promise<TopicProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx/esm', fixture], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const errors: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const event = JSON.parse(line) as { port?: number; onError?: string };
      if (event.port) resolve(event.port);
      if (event.onError) errors.push(event.onError);
    });
  });
  child.removeAllListeners('exit');
  return { url: `ws://127.0.0.1:${port}`, errors, child };
}

/** A client that records every message and can send a command and wait for its answer. */
class Peer {
  readonly received: string[] = [];
  readonly #answers: ((answer: string) => void)[] = [];
  constructor(readonly client: Client) {
    client.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === 'ok' || text.startsWith('error ')) this.#answers.shift()?.(text);
      else this.received.push(text);
    });
  }

  static async open(url: string): Promise<Peer> {
    const client = new Client(url);
    const peer = new Peer(client);
    await once(client, 'open');
    return peer;
  }

  ask(command: string): Promise<string> {
    return new Promise((resolve) => {
      this.#answers.push(resolve);
      this.client.send(command);
    });
  }
}

describe('Redis backplane across processes', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let processes: TopicProcess[] = [];
  let peers: Peer[] = [];

  beforeEach(async () => {
    redis = await RedisServer.start();
    processes = await Promise.all([startProcess(redis.url), startProcess(redis.url)]);
  });

  afterEach(async () => {
    for (const peer of peers) peer.client.terminate();
    peers = [];
    await Promise.all(
      processes.map(async ({ child }) => {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
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

  it('rejects publishes while Redis is down, reports it once, and resumes delivery when it is back', async () => {
    const [a1, b1, publisher] = [await peer(0), await peer(1), await peer(0)];
    await a1.ask('sub live');
    await b1.ask('sub live');
    expect(await publisher.ask('pub live before')).to.equal('ok');
    await until(() => a1.received.length === 1 && b1.received.length === 1);

    await redis.stop();
    await until(() => (processes[0]?.errors.length ?? 0) > 0);
    const answer = await publisher.ask('pub live during');
    expect(answer).to.match(/^error /);

    await redis.start();
    // Subscriptions come back by themselves; retry the publish until Redis takes it.
    let delivered = false;
    for (let i = 0; i < 100 && !delivered; i++) {
      if ((await publisher.ask('pub live after')) === 'ok') delivered = true;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(delivered).to.equal(true);
    await until(() => a1.received.includes('after') && b1.received.includes('after'));
    expect(a1.received).to.deep.equal(['before', 'after']);
    expect(b1.received).to.deep.equal(['before', 'after']);
    // One report per outage, not one per reconnection attempt.
    expect(processes[0]?.errors.length).to.equal(1);
    // The sockets stayed up through the outage.
    expect(a1.client.readyState).to.equal(Client.OPEN);
  });
});
