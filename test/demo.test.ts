// The chat demo (demo/), on Express and on Koa, driven with the `ws` client.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { WebSocket as Client } from 'ws';
import { type Demo, start } from '../demo/server.js';

type ChatMessage = Record<string, unknown> & { type: string };
type RoomList = { backend: string; shared: boolean; rooms: { room: string; count: number }[] };

/** A chat member: records every JSON message and waits for the ones a test expects. */
class Member {
  readonly received: ChatMessage[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(readonly ws: Client) {
    ws.on('message', (data) => {
      this.received.push(JSON.parse(String(data)) as ChatMessage);
      for (const wake of this.#waiters) wake();
    });
  }

  static async join(demo: Demo, room: string, name: string): Promise<Member> {
    const url = `${wsUrl(demo)}/rooms/${room}?name=${encodeURIComponent(name)}`;
    const member = new Member(new Client(url));
    members.push(member);
    await once(member.ws, 'open');
    await member.next((m) => m.type === 'welcome');
    return member;
  }

  get welcome(): ChatMessage {
    return this.received.find((m) => m.type === 'welcome') as ChatMessage;
  }

  /** The first message received that matches, waiting for it up to 2 s. */
  next(match: (message: ChatMessage) => boolean): Promise<ChatMessage> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(match);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no such message; got ${JSON.stringify(this.received)}`));
      }, 2000);
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits until the latest presence count is `count`. */
  async presence(count: number): Promise<ChatMessage> {
    await this.next(() => this.latest('presence')?.count === count);
    return this.latest('presence') as ChatMessage;
  }

  latest(type: string): ChatMessage | undefined {
    return this.received.findLast((m) => m.type === type);
  }

  say(text: string): void {
    this.ws.send(JSON.stringify({ type: 'message', text }));
  }
}

let members: Member[] = [];

function wsUrl(demo: Demo): string {
  return demo.url.replace(/^http/, 'ws');
}

/** The HTTP response that refused a handshake. */
async function refusedWith(url: string): Promise<{ status: number; body: unknown }> {
  const client = new Client(url);
  client.on('error', () => {});
  const [, res] = (await once(client, 'unexpected-response')) as [unknown, IncomingMessage];
  let text = '';
  for await (const chunk of res) text += chunk;
  client.terminate();
  return { status: res.statusCode ?? 0, body: JSON.parse(text) };
}

for (const backend of ['express', 'koa'] as const) {
  describe(`the chat demo on ${backend}`, () => {
    let demo: Demo;

    before(async () => {
      demo = await start({ port: 0, host: '127.0.0.1', koa: backend === 'koa', redisUrl: '' });
    });

    after(() => demo.close());

    afterEach(() => {
      for (const member of members) member.ws.terminate();
      members = [];
    });

    it('serves the page and the room list', async () => {
      const page = await fetch(`${demo.url}/`);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(await page.text()).to.include('<title>wsgate chat</title>');
      const rooms = (await (await fetch(`${demo.url}/api/rooms`)).json()) as RoomList;
      expect(rooms).to.deep.equal({
        backend,
        shared: false,
        rooms: [
          { room: 'general', count: 0 },
          { room: 'random', count: 0 },
          { room: 'help', count: 0 },
        ],
      });
    });

    it('refuses the handshake without a name: HTTP 400 with a message', async () => {
      const refused = await refusedWith(`${wsUrl(demo)}/rooms/general`);
      expect(refused.status).to.equal(400);
      expect(refused.body)
        .to.have.property('error')
        .that.match(/name is required/);
      const blank = await refusedWith(`${wsUrl(demo)}/rooms/general?name=%20`);
      expect(blank.status).to.equal(400);
      const badRoom = await refusedWith(`${wsUrl(demo)}/rooms/No%20Such?name=ann`);
      expect(badRoom.status).to.equal(400);
      expect(badRoom.body)
        .to.have.property('error')
        .that.match(/room name/);
      // A plain GET of the same URL runs the same middleware: how the page learns why.
      const plain = await fetch(`${demo.url}/rooms/general`);
      expect(plain.status).to.equal(400);
      expect(await plain.json()).to.deep.equal(refused.body);
    });

    it('welcomes a member and keeps the presence count across joins and leaves', async () => {
      const ann = await Member.join(demo, 'general', ' ann ');
      expect(ann.welcome).to.deep.include({
        type: 'welcome',
        room: 'general',
        name: 'ann',
        worker: process.pid,
        backend,
      });
      expect(ann.welcome.id).to.be.a('string');
      expect(await ann.presence(1)).to.deep.equal({
        type: 'presence',
        room: 'general',
        count: 1,
        names: ['ann'],
      });

      const bob = await Member.join(demo, 'general', 'bob');
      expect((await bob.presence(2)).names).to.deep.equal(['ann', 'bob']);
      await ann.presence(2);
      const joined = await ann.next((m) => m.type === 'join');
      expect(joined).to.have.keys('type', 'name', 'at');
      expect(joined).to.include({ name: 'bob' });
      expect(bob.received.some((m) => m.type === 'join')).to.equal(false);
      const rooms = (await (await fetch(`${demo.url}/api/rooms`)).json()) as RoomList;
      expect(rooms.rooms).to.deep.include({ room: 'general', count: 2 });

      bob.ws.close(1000);
      await ann.presence(1);
      expect(await ann.next((m) => m.type === 'leave')).to.include({ name: 'bob' });
    });

    it('broadcasts a message as JSON to everyone in its room, and to no other room', async () => {
      const ann = await Member.join(demo, 'general', 'ann');
      const bob = await Member.join(demo, 'general', 'bob');
      const cy = await Member.join(demo, 'random', 'cy');
      await ann.presence(2);

      bob.say('  hello general  ');
      const isHello = (m: ChatMessage) => m.type === 'message' && m.text === 'hello general';
      const atAnn = await ann.next(isHello);
      expect(atAnn).to.have.keys('type', 'id', 'from', 'name', 'text', 'at');
      expect(atAnn).to.include({ from: bob.welcome.id, name: 'bob' });
      expect(atAnn.at).to.be.a('number');
      expect(await bob.next(isHello)).to.deep.equal(atAnn); // the sender gets it too

      // Delivery is in order: once cy has her own later message, any leak would be there.
      cy.say('hello random');
      await cy.next((m) => m.type === 'message' && m.text === 'hello random');
      expect(cy.received.filter(isHello)).to.deep.equal([]);
      expect(ann.received.some((m) => m.text === 'hello random')).to.equal(false);
    });

    it('answers an error to a message it does not know and closes with 1003 on non-JSON', async () => {
      const ann = await Member.join(demo, 'help', 'ann');
      ann.ws.send(JSON.stringify({ type: 'dance' }));
      expect(await ann.next((m) => m.type === 'error')).to.have.property('message');
      ann.ws.send('not json');
      const [code] = await once(ann.ws, 'close');
      expect(code).to.equal(1003);
    });
  });
}
