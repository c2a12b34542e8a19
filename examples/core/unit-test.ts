// The "testing a handler without a server" section of README.md.
// #region memory
import { type AppMessage, type ClientMessage, type Transport, WebSocket } from 'wsgate';

/** Plays the client: scripted messages in, what the handler sent out. */
class ScriptedTransport implements Transport {
  readonly sent: AppMessage[] = [];
  readonly #script: ClientMessage[];

  constructor(script: ClientMessage[]) {
    this.#script = script;
  }

  async receive(): Promise<ClientMessage> {
    return this.#script.shift() ?? { type: 'disconnect', code: 1000, reason: '' };
  }

  async send(message: AppMessage): Promise<void> {
    this.sent.push(message);
  }
}

/** The handler under test: the same function an Express or Koa route would call. */
export async function shout(socket: WebSocket): Promise<void> {
  await socket.accept();
  for await (const text of socket.iterText()) await socket.sendText(text.toUpperCase());
}

const transport = new ScriptedTransport([{ type: 'connect' }, { type: 'receive', text: 'hi' }]);
await shout(new WebSocket(transport, { url: '/shout' }));

// transport.sent → [{ type: 'accept' }, { type: 'send', text: 'HI' }]
// #endregion

export { transport };
