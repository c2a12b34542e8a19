// The chat demo as `WORKERS=2 REDIS_URL=... npm start`: two node:cluster workers on one port
// sharing rooms and presence through a throwaway redis-server.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { WebSocket as Client } from 'ws';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/waiting.js';

const MAIN = fileURLToPath(new URL('../../demo/main.ts', import.meta.url));

type ChatMessage = Record<string, unknown> & { type: string };
type RoomList = { backend: string; shared: boolean; rooms: { room: string; count: number }[] };

class Member {
  readonly received: ChatMessage[] = [];
  constructor(
    readonly name: string,
    readonly ws: Client,
  ) {
    ws.on('message', (data) => this.received.push(JSON.parse(String(data)) as ChatMessage));
  }

  get worker(): number {
    return this.received.find((m) => m.type === 'welcome')?.worker as number;
  }

  count(): unknown {
    return this.received.findLast((m) => m.type === 'presence')?.count;
  }

  texts(): unknown[] {
    return this.received.filter((m) => m.type === 'message').map((m) => m.text);
  }

  say(text: string): void {
    this.ws.send(JSON.stringify({ type: 'message', text }));
  }
}

/** Runs `demo/main.ts` with `env` and waits for the line that says all workers listen. */
async function startDemo(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx/esm', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${output}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`demo exited (${code}): ${output}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
      const listening = /on http:\/\/localhost:(\d+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, port };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the chat demo on two cluster workers sharing Redis', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let demo: { child: ChildProcess; port: number };
  const members: Member[] = [];

  before(async () => {
    redis = await RedisServer.start();
    demo = await startDemo({ PORT: '0', WORKERS: '2', REDIS_URL: redis.url });
  });

  after(async () => {
    for (const member of members) member.ws.terminate();
    const { child } = demo ?? {};
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await redis?.stop();
  });

  async function join(name: string): Promise<Member> {
    const ws = new Client(`ws://127.0.0.1:${demo.port}/rooms/lobby?name=${name}`);
    const member = new Member(name, ws);
    members.push(member);
    await once(ws, 'open');
    await until(() => member.worker !== undefined);
    return member;
  }

  it('serves one room from both workers: presence, messages both ways, leave', async () => {
    // Node's cluster hands connections to the workers in turn: a few clients reach both.
    while (new Set(members.map((m) => m.worker)).size < 2 && members.length < 10) {
      await join(`m${members.length}`);
    }
    const workers = [...new Set(members.map((m) => m.worker))];
    expect(workers).to.have.length(2);
    expect(workers).not.to.include(demo.child.pid);
    const a = members.find((m) => m.worker === workers[0]) as Member;
    const b = members.find((m) => m.worker === workers[1]) as Member;

    // Everyone counts everyone, whichever worker holds them.
    await until(() => members.every((m) => m.count() === members.length), { ms: 10_000 });

    // A message from a client on one worker reaches every client on both, exactly once.
    a.say(`one from ${a.worker}`);
    a.say(`two from ${a.worker}`);
    await until(() => members.every((m) => m.texts().includes(`two from ${a.worker}`)));
    for (const member of members) {
      expect(member.texts()).to.deep.equal([`one from ${a.worker}`, `two from ${a.worker}`]);
    }
    b.say(`reply from ${b.worker}`);
    await until(() => members.every((m) => m.texts().includes(`reply from ${b.worker}`)));

    // A leaves: the others, on both workers, see the count drop and the notice.
    a.ws.close(1000);
    const rest = members.filter((m) => m !== a);
    await until(() => rest.every((m) => m.count() === rest.length), { ms: 10_000 });
    await until(() =>
      rest.every((m) => m.received.some((n) => n.type === 'leave' && n.name === a.name)),
    );
    const rooms = (await (
      await fetch(`http://127.0.0.1:${demo.port}/api/rooms`)
    ).json()) as RoomList;
    expect(rooms.shared).to.equal(true);
    expect(rooms.rooms).to.deep.include({ room: 'lobby', count: rest.length });

    // Shutting the primary down stops the workers too.
    const exited = once(demo.child, 'exit');
    demo.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).to.equal(0);
    await until(() => workers.every((pid) => !alive(pid)), { ms: 5_000 });
  });
});
