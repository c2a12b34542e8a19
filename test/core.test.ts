import { expect } from 'chai';
import {
  WebSocket,
  WebSocketDisconnect,
  WebSocketState,
  WebSocketStateError,
} from '../lib/index.js';
import { MemoryTransport } from './support/memory-transport.js';

const { CONNECTING, CONNECTED, DISCONNECTED } = WebSocketState;

function make(info?: ConstructorParameters<typeof WebSocket>[1]) {
  const transport = new MemoryTransport();
  const socket = new WebSocket(transport, info);
  return { transport, socket };
}

/** A socket whose handshake is done: connect received, accept sent. */
async function accepted(info?: ConstructorParameters<typeof WebSocket>[1]) {
  const pair = make(info);
  pair.transport.push({ type: 'connect' });
  await pair.socket.accept();
  pair.transport.sent.length = 0;
  return pair;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('core WebSocket: state machine', () => {
  it('starts CONNECTING on both sides', () => {
    const { socket } = make();
    expect(socket.clientState).to.equal(CONNECTING);
    expect(socket.applicationState).to.equal(CONNECTING);
  });

  describe('receive()', () => {
    it('client CONNECTING: connect moves the client to CONNECTED', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'connect' });
      expect(await socket.receive()).to.deep.equal({ type: 'connect' });
      expect(socket.clientState).to.equal(CONNECTED);
    });

    it('client CONNECTING: anything but connect throws WebSocketStateError', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'receive', text: 'early' });
      const error = await rejection(socket.receive());
      expect(error).to.be.instanceOf(WebSocketStateError);
      expect(socket.clientState).to.equal(CONNECTING);
    });

    it('client CONNECTED: receive stays, disconnect moves to DISCONNECTED', async () => {
      const { socket, transport } = make();
      transport.push(
        { type: 'connect' },
        { type: 'receive', text: 'a' },
        { type: 'disconnect', code: 1001, reason: 'bye' },
      );
      await socket.receive();
      expect(await socket.receive()).to.deep.equal({ type: 'receive', text: 'a' });
      expect(socket.clientState).to.equal(CONNECTED);
      expect(await socket.receive()).to.deep.equal({
        type: 'disconnect',
        code: 1001,
        reason: 'bye',
      });
      expect(socket.clientState).to.equal(DISCONNECTED);
    });

    it('client CONNECTED: a second connect throws', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'connect' }, { type: 'connect' });
      await socket.receive();
      expect(await rejection(socket.receive())).to.be.instanceOf(WebSocketStateError);
      expect(socket.clientState).to.equal(CONNECTED);
    });

    it('client DISCONNECTED: throws at once without reading the transport', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'connect' }, { type: 'disconnect', code: 1000, reason: '' });
      await socket.receive();
      await socket.receive();
      transport.push({ type: 'receive', text: 'never read' });
      const reads = transport.reads;
      expect(await rejection(socket.receive())).to.be.instanceOf(WebSocketStateError);
      expect(transport.reads).to.equal(reads);
      expect(transport.unread).to.equal(1);
    });

    for (const how of ['rejects', 'throws instead of rejecting'] as const) {
      it(`a transport whose receive ${how}: that read rejects with its error, the next reads on`, async () => {
        const { socket, transport } = make();
        transport.push({ type: 'connect' }, { type: 'receive', text: 'after' });
        await socket.receive();
        const receive = transport.receive.bind(transport);
        transport.receive = () => {
          transport.receive = receive;
          const error = new Error('read failed');
          if (how === 'throws instead of rejecting') throw error;
          return Promise.reject(error);
        };
        const failed = socket.receive();
        expect(failed).to.be.instanceOf(Promise);
        expect((await rejection(failed)).message).to.equal('read failed');
        expect(socket.clientState).to.equal(CONNECTED);
        expect(await socket.receive()).to.deep.equal({ type: 'receive', text: 'after' });
      });
    }
  });

  describe('send()', () => {
    it('app CONNECTING: accept moves to CONNECTED and is sent', async () => {
      const { socket, transport } = make();
      await socket.send({ type: 'accept' });
      expect(socket.applicationState).to.equal(CONNECTED);
      expect(transport.sent).to.deep.equal([{ type: 'accept' }]);
    });

    it('app CONNECTING: close moves to DISCONNECTED (refusal)', async () => {
      const { socket, transport } = make();
      await socket.send({ type: 'close' });
      expect(socket.applicationState).to.equal(DISCONNECTED);
      expect(transport.sent).to.deep.equal([{ type: 'close' }]);
    });

    it('app CONNECTING: data throws WebSocketStateError and sends nothing', async () => {
      const { socket, transport } = make();
      const error = await rejection(socket.send({ type: 'send', text: 'x' }));
      expect(error).to.be.instanceOf(WebSocketStateError);
      expect(socket.applicationState).to.equal(CONNECTING);
      expect(transport.sent).to.be.empty;
    });

    it('app CONNECTED: send stays, close moves to DISCONNECTED', async () => {
      const { socket, transport } = await accepted();
      await socket.send({ type: 'send', text: 'x' });
      expect(socket.applicationState).to.equal(CONNECTED);
      await socket.send({ type: 'close', code: 4000, reason: 'done' });
      expect(socket.applicationState).to.equal(DISCONNECTED);
      expect(transport.sent).to.deep.equal([
        { type: 'send', text: 'x' },
        { type: 'close', code: 4000, reason: 'done' },
      ]);
    });

    it('app CONNECTED: a second accept throws and sends nothing', async () => {
      const { socket, transport } = await accepted();
      expect(await rejection(socket.send({ type: 'accept' }))).to.be.instanceOf(
        WebSocketStateError,
      );
      expect(transport.sent).to.be.empty;
      expect(socket.applicationState).to.equal(CONNECTED);
    });

    it('app CONNECTED: an I/O error → DISCONNECTED and WebSocketDisconnect 1006', async () => {
      const { socket, transport } = await accepted();
      transport.failSends = new Error('EPIPE');
      const error = await rejection(socket.sendText('x'));
      expect(error).to.be.instanceOf(WebSocketDisconnect);
      expect((error as WebSocketDisconnect).code).to.equal(1006);
      expect(socket.applicationState).to.equal(DISCONNECTED);
    });

    it('app CONNECTED: a transport that throws instead of rejecting → the same 1006', async () => {
      const { socket, transport } = await accepted();
      transport.send = () => {
        throw new Error('thrown, not rejected');
      };
      const sent = socket.sendText('x');
      expect(sent).to.be.instanceOf(Promise);
      const error = await rejection(sent);
      expect(error).to.be.instanceOf(WebSocketDisconnect);
      expect(error.message).to.contain('thrown, not rejected');
      expect(socket.applicationState).to.equal(DISCONNECTED);
    });

    it('app DISCONNECTED: every message throws and sends nothing', async () => {
      const { socket, transport } = await accepted();
      await socket.close();
      transport.sent.length = 0;
      for (const message of [
        { type: 'send', text: 'x' },
        { type: 'close' },
        { type: 'accept' },
      ] as const) {
        expect(await rejection(socket.send(message))).to.be.instanceOf(WebSocketStateError);
      }
      expect(transport.sent).to.be.empty;
    });

    it('rejects a send message without text or bytes', async () => {
      const { socket, transport } = await accepted();
      const bad = { type: 'send' } as unknown as Parameters<WebSocket['send']>[0];
      expect(await rejection(socket.send(bad))).to.be.instanceOf(TypeError);
      expect(transport.sent).to.be.empty;
    });
  });
});

describe('core WebSocket: methods', () => {
  describe('accept()', () => {
    it('receives connect first when nobody did', async () => {
      const { socket, transport } = make({ headers: { 'sec-websocket-protocol': 'a, b' } });
      transport.push({ type: 'connect' });
      await socket.accept({ subprotocol: 'b', headers: { 'X-Id': '7' } });
      expect(socket.clientState).to.equal(CONNECTED);
      expect(transport.sent).to.deep.equal([
        { type: 'accept', subprotocol: 'b', headers: { 'X-Id': '7' } },
      ]);
    });

    it('refuses a subprotocol the client did not offer with TypeError, consuming nothing', async () => {
      const { socket, transport } = make({ headers: { 'sec-websocket-protocol': 'a' } });
      transport.push({ type: 'connect' });
      expect(await rejection(socket.accept({ subprotocol: 'z' }))).to.be.instanceOf(TypeError);
      expect(transport.sent).to.be.empty;
      expect(transport.reads).to.equal(0);
      expect(socket.applicationState).to.equal(CONNECTING);
    });

    it('refuses invalid handshake headers with TypeError and sends nothing', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'connect' });
      await socket.receive();
      const error = await rejection(socket.accept({ headers: { 'X-Bad': 'a\r\nInjected: 1' } }));
      expect(error).to.be.instanceOf(TypeError);
      expect(transport.sent).to.be.empty;
      expect(socket.applicationState).to.equal(CONNECTING);
    });

    it('throws WebSocketStateError once accepted', async () => {
      const { socket } = await accepted();
      expect(await rejection(socket.accept())).to.be.instanceOf(WebSocketStateError);
    });
  });

  describe('receiveText() / receiveBytes()', () => {
    it('need app CONNECTED and consume nothing otherwise, not even connect', async () => {
      const { socket, transport } = make();
      transport.push({ type: 'connect' });
      for (const call of [
        () => socket.receiveText(),
        () => socket.receiveBytes(),
        () => socket.receiveJson(),
      ]) {
        expect(await rejection(call())).to.be.instanceOf(WebSocketStateError);
      }
      expect(transport.reads).to.equal(0);
      expect(transport.unread).to.equal(1);
    });

    it('cast between text and bytes as UTF-8', async () => {
      const { socket, transport } = await accepted();
      transport.push(
        { type: 'receive', text: 'héllo' },
        { type: 'receive', bytes: Buffer.from('wörld') },
        { type: 'receive', text: 'ü' },
        { type: 'receive', bytes: Buffer.from([1, 2, 3]) },
      );
      expect(await socket.receiveText()).to.equal('héllo');
      expect(await socket.receiveText()).to.equal('wörld');
      expect(await socket.receiveBytes()).to.deep.equal(Buffer.from('ü'));
      expect(await socket.receiveBytes()).to.deep.equal(Buffer.from([1, 2, 3]));
    });

    it('throw WebSocketDisconnect with the code and reason on disconnect', async () => {
      const { socket, transport } = await accepted();
      transport.push({ type: 'disconnect', code: 4321, reason: 'gone' });
      const error = await rejection(socket.receiveText());
      expect(error).to.be.instanceOf(WebSocketDisconnect);
      expect(error).to.include({ code: 4321, reason: 'gone' });
      expect(await rejection(socket.receiveText())).to.be.instanceOf(WebSocketStateError);
    });

    it('after close() they throw WebSocketStateError', async () => {
      const { socket, transport } = await accepted();
      await socket.close();
      transport.push({ type: 'receive', text: 'late' });
      expect(await rejection(socket.receiveText())).to.be.instanceOf(WebSocketStateError);
      expect(transport.unread).to.equal(1);
    });
  });

  describe('receiveJson()', () => {
    it('parses text and binary frames in either mode', async () => {
      const { socket, transport } = await accepted();
      transport.push(
        { type: 'receive', text: '{"a":1}' },
        { type: 'receive', bytes: Buffer.from('[1,2]') },
        { type: 'receive', text: '"s"' },
      );
      expect(await socket.receiveJson()).to.deep.equal({ a: 1 });
      expect(await socket.receiveJson({ mode: 'binary' })).to.deep.equal([1, 2]);
      expect(await socket.receiveJson<string>({ mode: 'text' })).to.equal('s');
    });

    it('rejects an invalid mode with TypeError before receiving', async () => {
      const { socket, transport } = await accepted();
      transport.push({ type: 'receive', text: '1' });
      const bad = { mode: 'xml' } as unknown as { mode: 'text' };
      expect(await rejection(socket.receiveJson(bad))).to.be.instanceOf(TypeError);
      expect(transport.unread).to.equal(1);
    });

    it('rejects invalid JSON with a SyntaxError that names JSON; the message is consumed', async () => {
      const { socket, transport } = await accepted();
      transport.push({ type: 'receive', text: '{oops' }, { type: 'receive', text: '2' });
      const error = await rejection(socket.receiveJson());
      expect(error).to.be.instanceOf(SyntaxError);
      expect(error.message).to.match(/JSON/);
      expect(socket.applicationState).to.equal(CONNECTED);
      expect(await socket.receiveJson()).to.equal(2);
    });
  });

  describe('sendText() / sendBytes() / sendJson()', () => {
    it('send one text or binary message', async () => {
      const { socket, transport } = await accepted();
      await socket.sendText('hi');
      await socket.sendBytes(new Uint8Array([9]));
      expect(transport.sent).to.deep.equal([
        { type: 'send', text: 'hi' },
        { type: 'send', bytes: new Uint8Array([9]) },
      ]);
    });

    it('sendJson uses a text frame by default and UTF-8 bytes in binary mode', async () => {
      const { socket, transport } = await accepted();
      await socket.sendJson({ é: [1] });
      await socket.sendJson({ é: [1] }, { mode: 'binary' });
      expect(transport.sent[0]).to.deep.equal({ type: 'send', text: '{"é":[1]}' });
      const binary = transport.sent[1] as { bytes: Uint8Array };
      expect(Buffer.from(binary.bytes).toString('utf8')).to.equal('{"é":[1]}');
      expect(binary.bytes).to.be.instanceOf(Uint8Array);
    });

    it('sendJson throws TypeError for values JSON cannot represent and sends nothing', async () => {
      const { socket, transport } = await accepted();
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      for (const value of [cycle, 10n, undefined, () => 1]) {
        expect(await rejection(socket.sendJson(value))).to.be.instanceOf(TypeError);
      }
      const bad = { mode: 'yaml' } as unknown as { mode: 'text' };
      expect(await rejection(socket.sendJson(1, bad))).to.be.instanceOf(TypeError);
      expect(transport.sent).to.be.empty;
    });
  });

  describe('iterators', () => {
    it('iterText/iterBytes/iterJson yield until disconnect, then end without throwing', async () => {
      const { socket, transport } = await accepted();
      transport.push(
        { type: 'receive', text: 'a' },
        { type: 'receive', bytes: Buffer.from('b') },
        { type: 'disconnect', code: 1000, reason: '' },
      );
      const texts: string[] = [];
      for await (const text of socket.iterText()) texts.push(text);
      expect(texts).to.deep.equal(['a', 'b']);

      const other = await accepted();
      other.transport.push(
        { type: 'receive', text: 'x' },
        { type: 'disconnect', code: 1006, reason: '' },
      );
      const bytes: Buffer[] = [];
      for await (const chunk of other.socket.iterBytes()) bytes.push(chunk);
      expect(bytes).to.deep.equal([Buffer.from('x')]);

      const third = await accepted();
      third.transport.push(
        { type: 'receive', text: '{"n":1}' },
        { type: 'receive', bytes: Buffer.from('{"n":2}') },
        { type: 'disconnect', code: 1001, reason: '' },
      );
      const values: unknown[] = [];
      for await (const value of third.socket.iterJson({ mode: 'binary' })) values.push(value);
      expect(values).to.deep.equal([{ n: 1 }, { n: 2 }]);
    });

    it('iterJson lets invalid JSON escape the loop', async () => {
      const { socket, transport } = await accepted();
      transport.push({ type: 'receive', text: 'nope' });
      const error = await rejection(
        (async () => {
          for await (const _ of socket.iterJson()) {
            /* drain */
          }
        })(),
      );
      expect(error).to.be.instanceOf(SyntaxError);
    });

    it('iterText before accept throws WebSocketStateError', async () => {
      const { socket } = make();
      const error = await rejection(socket.iterText().next());
      expect(error).to.be.instanceOf(WebSocketStateError);
    });
  });

  describe('close()', () => {
    it('defaults to 1000 and an empty reason', async () => {
      const { socket, transport } = await accepted();
      await socket.close();
      expect(transport.sent).to.deep.equal([{ type: 'close', code: 1000, reason: '' }]);
    });

    it('accepts the codes ws accepts', async () => {
      for (const code of [1000, 1001, 1003, 1007, 1011, 1012, 1013, 1014, 3000, 4000, 4999]) {
        const { socket, transport } = await accepted();
        await socket.close(code);
        expect(transport.sent).to.deep.equal([{ type: 'close', code, reason: '' }]);
      }
    });

    it('throws RangeError for other codes and over-long reasons, sending nothing', async () => {
      const { socket, transport } = await accepted();
      for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000, 1000.5, Number.NaN]) {
        expect(await rejection(socket.close(code))).to.be.instanceOf(RangeError);
      }
      expect(await rejection(socket.close(1000, 'é'.repeat(62)))).to.be.instanceOf(RangeError);
      expect(await rejection(socket.send({ type: 'close', code: 1005 }))).to.be.instanceOf(
        RangeError,
      );
      expect(transport.sent).to.be.empty;
      expect(socket.applicationState).to.equal(CONNECTED);
      await socket.close(1000, `${'é'.repeat(61)}x`);
      expect(transport.sent).to.have.length(1);
    });
  });

  describe('request information', () => {
    it('url, query and params come from the info, the origin from Host', () => {
      const { socket } = make({
        url: '/rooms/a?x=1&x=2',
        headers: { host: 'example.test:8080' },
        params: { room: 'a' },
      });
      expect(socket.url.href).to.equal('ws://example.test:8080/rooms/a?x=1&x=2');
      expect(socket.query.getAll('x')).to.deep.equal(['1', '2']);
      expect(socket.params).to.deep.equal({ room: 'a' });
      expect(make({ url: '/', secure: true, headers: { host: 'h' } }).socket.url.protocol).to.equal(
        'wss:',
      );
    });

    it('defaults to / with no headers or params', () => {
      const { socket } = make();
      expect(socket.url.pathname).to.equal('/');
      expect(socket.params).to.deep.equal({});
      // Made on first use, then the same object: what a handler stores on it stays.
      socket.params.added = 'kept';
      expect(socket.params).to.deep.equal({ added: 'kept' });
      expect(socket.subprotocols).to.deep.equal([]);
    });

    it('subprotocols lists the offers in order', () => {
      const { socket } = make({ headers: { 'sec-websocket-protocol': 'chat.v2, chat.v1 ,,x' } });
      expect(socket.subprotocols).to.deep.equal(['chat.v2', 'chat.v1', 'x']);
    });
  });

  describe('errors', () => {
    it('WebSocketDisconnect carries code and reason; both errors are Errors', () => {
      const error = new WebSocketDisconnect(4000, 'why');
      expect(error).to.be.instanceOf(Error);
      expect(error).to.include({ code: 4000, reason: 'why', name: 'WebSocketDisconnect' });
      expect(new WebSocketDisconnect()).to.include({ code: 1000, reason: '' });
      expect(new WebSocketStateError('x')).to.be.instanceOf(Error);
    });
  });
});
