/**
 * `ws` clients for tests: opened and tracked (terminated by `cleanup()`), with what they receive
 * recorded from the moment they exist: a message can arrive in the same packet as the 101, before
 * the code awaiting the connection could add a listener.
 */
import { EventEmitter, once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { WebSocket as Client, type ClientOptions } from 'ws';
import { onCleanup } from './cleanup.js';
import { type Deferred, deferred } from './waiting.js';

/** A message as a `ws` client received it. */
export interface ClientMessage {
  data: Buffer;
  isBinary: boolean;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/** What a client got instead of a 101. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

class Inbox {
  /** Every message, in order, as text. */
  readonly texts: string[] = [];
  /** Messages not yet taken by `nextMessage()`. */
  readonly queue: ClientMessage[] = [];
  readonly waiters: Array<Deferred<ClientMessage>> = [];
  readonly closed = deferred<CloseEvent>();
  readonly events = new EventEmitter();
  isClosed = false;

  constructor(client: Client) {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      this.texts.push(data.toString());
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve({ data, isBinary });
      else this.queue.push({ data, isBinary });
      this.events.emit('change');
    });
    client.on('close', (code: number, reason: Buffer) => {
      this.isClosed = true;
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`closed with ${code}`));
      this.closed.resolve({ code, reason: reason.toString() });
      this.events.emit('change');
    });
    // Errors (resets, refusals) are observed through the close event and the answers here.
    client.on('error', () => {});
  }
}

const inboxes = new WeakMap<Client, Inbox>();

function inbox(client: Client): Inbox {
  let found = inboxes.get(client);
  if (found === undefined) {
    if (client.readyState === Client.CLOSED) throw new Error('the client is closed already');
    found = new Inbox(client);
    inboxes.set(client, found);
  }
  return found;
}

/**
 * Records what `client` receives from now on and terminates it at `cleanup()` (`connect()` and
 * `attempt()` do it for the clients they make).
 */
export function adopt(client: Client): Client {
  inbox(client);
  onCleanup(() => client.terminate());
  return client;
}

/**
 * Reads a refused handshake's answer; resolves once the server closed the connection too (one
 * left hanging fails by timeout), or, `mayStayOpen`, closes it itself.
 */
async function readAnswer(res: IncomingMessage, mayStayOpen: boolean): Promise<HttpAnswer> {
  const { socket } = res;
  const closed = socket.destroyed ? Promise.resolve() : once(socket, 'close');
  let body = '';
  for await (const chunk of res) body += chunk;
  if (mayStayOpen) socket.destroy();
  await closed;
  return { status: res.statusCode ?? 0, headers: res.headers, body };
}

export interface AttemptOptions extends ClientOptions {
  /** A refusal may leave the connection open (keep-alive): the client closes it. */
  mayStayOpen?: boolean;
}

/**
 * Opens a handshake (`ws:` or `http:` URL) and resolves with its outcome: the open client after
 * a 101, or the HTTP answer of a refusal once the server closed the connection.
 */
export function attempt(
  url: string,
  protocols: string | string[] = [],
  options: AttemptOptions = {},
): Promise<{ status: 101; client: Client } | HttpAnswer> {
  const { mayStayOpen = false, ...clientOptions } = options;
  const client = adopt(new Client(url, protocols, clientOptions));
  return new Promise((resolve, reject) => {
    client.once('open', () => resolve({ status: 101, client }));
    client.once('unexpected-response', (_req, res: IncomingMessage) => {
      readAnswer(res, mayStayOpen).then(resolve, reject);
    });
    client.once('error', reject);
    client.once('close', (code) => reject(new Error(`closed with ${code} before the 101`)));
  });
}

/** Opens a client and waits for the 101 (rejects with the answer of a refusal). */
export async function connect(
  url: string,
  protocols?: string | string[],
  options?: ClientOptions,
): Promise<Client> {
  const outcome = await attempt(url, protocols, options);
  if ('client' in outcome) return outcome.client;
  throw new Error(`Unexpected server response: ${outcome.status} ${outcome.body}`);
}

/** Resolves with the next message a client received (rejects if it closes first). */
export function nextMessage(client: Client): Promise<ClientMessage> {
  const box = inbox(client);
  const queued = box.queue.shift();
  if (queued) return Promise.resolve(queued);
  if (box.isClosed) return Promise.reject(new Error('the client is closed'));
  const waiter = deferred<ClientMessage>();
  box.waiters.push(waiter);
  return waiter.promise;
}

/**
 * Resolves with the text of every message the client received so far once there are at least
 * `count` (rejects if the client closes before).
 */
export async function received(client: Client, count = 0): Promise<string[]> {
  const box = inbox(client);
  while (box.texts.length < count) {
    if (box.isClosed) throw new Error(`closed after ${box.texts.length} of ${count} messages`);
    await once(box.events, 'change');
  }
  return box.texts;
}

/** Resolves with the close code and reason once the client is closed. */
export function closed(client: Client): Promise<CloseEvent> {
  return inbox(client).closed.promise;
}
