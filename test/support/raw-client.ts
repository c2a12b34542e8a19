import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { onCleanup } from './cleanup.js';

/**
 * A client on a raw TCP socket, for what a well-behaved WebSocket client can't do: malformed
 * handshakes, hand-built frames, garbage. Everything the server sends is collected in `received`.
 */
export class RawClient {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received: Buffer = Buffer.alloc(0);
  /** Resolves once the socket is fully closed (by either side); never rejects. */
  readonly closed: Promise<void>;
  /** Whether the server ended or reset the connection (as opposed to us destroying it). */
  serverClosed = false;
  #waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.serverClosed = true;
      this.#wake();
    });
    // Resets are expected here (the server drops bad clients): observe them, never crash.
    socket.on('error', () => {
      this.serverClosed = true;
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#wake();
        resolve();
      });
    });
  }

  /** Opens a TCP connection to `port` on 127.0.0.1 (destroyed by `cleanup()`). */
  static async open(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    onCleanup(() => socket.destroy());
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Opens a connection and sends a valid handshake for `path`; waits for the 101. */
  static async upgraded(port: number, path = '/'): Promise<RawClient> {
    const raw = await RawClient.open(port);
    raw.write(handshake({ path }));
    const { status } = await raw.response();
    if (status !== 101) throw new Error(`handshake status ${status}, not 101`);
    return raw;
  }

  /** Writes bytes (a string is written as latin1 so header bytes go out exactly). */
  write(data: Buffer | string): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Whether the socket is closed. */
  get isClosed(): boolean {
    return this.socket.destroyed && this.socket.closed;
  }

  /** Resolves when `predicate(received)` holds, or rejects when the socket closed before. */
  async waitFor(predicate: (received: Buffer) => boolean, what: string): Promise<void> {
    while (!predicate(this.received)) {
      if (this.socket.closed) {
        throw new Error(`socket closed before ${what}; received ${describe(this.received)}`);
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The HTTP response head the server sent (waits for its end). */
  async response(): Promise<HttpHead> {
    await this.waitFor((data) => data.includes('\r\n\r\n'), 'an HTTP response');
    return parseHead(this.received);
  }

  /** A full HTTP response with its Content-Length body, then waits for the server to close. */
  async responseAndClose(): Promise<HttpHead & { body: string }> {
    const head = await this.response();
    const length = Number(head.headers['content-length'] ?? 0);
    await this.waitFor((data) => data.length >= head.length + length, 'the response body').catch(
      () => {},
    );
    await this.closed;
    return { ...head, body: this.received.subarray(head.length, head.length + length).toString() };
  }

  /** The bytes the server sent after its HTTP response head (the frames after a 101). */
  afterHead(): Buffer {
    return this.received.subarray(parseHead(this.received).length);
  }

  /** Frames the server sent after a 101 response (complete frames only). */
  framesAfterHead(): ServerFrame[] {
    return parseFrames(this.afterHead()).frames;
  }

  /** Waits for a close frame from the server after a 101, and for the TCP close; returns its code. */
  async closeFrame(): Promise<{ code: number | undefined; reason: string }> {
    await this.waitFor(hasCloseFrame, 'a close frame');
    await this.closed;
    const close = this.framesAfterHead().find((f) => f.opcode === OPCODE.close) as ServerFrame;
    return closePayload(close.payload);
  }

  /**
   * Waits for a close frame from the server after a 101, answers it with `code` (as a client must)
   * and ends the connection, then waits for the TCP close.
   */
  async answerClose(code = 1000): Promise<void> {
    await this.waitFor(hasCloseFrame, 'a close frame');
    if (!this.socket.writableEnded) {
      this.socket.end(frame({ opcode: OPCODE.close, payload: closeBody(code) }));
    }
    await this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Whether `data` holds an HTTP head and a close frame after it. */
function hasCloseFrame(data: Buffer): boolean {
  return (
    data.includes('\r\n\r\n') &&
    parseFrames(data.subarray(parseHead(data).length)).frames.some((f) => f.opcode === OPCODE.close)
  );
}

function describe(data: Buffer): string {
  const text = data.toString('latin1');
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

export interface HttpHead {
  status: number;
  headers: Record<string, string>;
  /** Bytes of the head including the blank line. */
  length: number;
}

/** Parses an HTTP/1.1 response head at the start of `data`. */
export function parseHead(data: Buffer): HttpHead {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP head in ${describe(data)}`);
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP response: ${describe(data)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(match[1]), headers, length: end + 4 };
}

/** A fresh, valid `Sec-WebSocket-Key`. */
export function wsKey(): string {
  return randomBytes(16).toString('base64');
}

/**
 * An upgrade request. `headers` override the defaults of a valid handshake; `null` leaves a
 * header out. Header names are written as given.
 */
export function handshake(
  options: { method?: string; path?: string; headers?: Record<string, string | null> } = {},
): string {
  const { method = 'GET', path = '/', headers = {} } = options;
  const all: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': wsKey(),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

export interface FrameOptions {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number (4 = RSV1). */
  rsv?: number;
  /** Client frames must be masked; `false` sends an unmasked one. */
  mask?: boolean;
  /** Claim this payload length in the header instead of the real one. */
  declaredLength?: number;
}

/** One WebSocket frame as a client sends it (masked unless told otherwise). */
export function frame(options: FrameOptions): Buffer {
  const { opcode, fin = true, rsv = 0, mask = true } = options;
  const payload =
    typeof options.payload === 'string'
      ? Buffer.from(options.payload)
      : (options.payload ?? Buffer.alloc(0));
  const length = options.declaredLength ?? payload.length;
  const first = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf);
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([first, length]);
  } else if (length < 0x10000) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  header[1] = (header[1] as number) | 0x80;
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) {
    masked[i] = (masked[i] as number) ^ (key[i % 4] as number);
  }
  return Buffer.concat([header, key, masked]);
}

/** The payload of a close frame: code (2 bytes) and reason. */
export function closeBody(code: number, reason: Buffer | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code, 0);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}

export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parses the complete frames at the start of `data` (server frames are unmasked). */
export function parseFrames(data: Buffer): { frames: ServerFrame[]; rest: Buffer } {
  const frames: ServerFrame[] = [];
  let offset = 0;
  while (data.length - offset >= 2) {
    const b0 = data[offset] as number;
    const b1 = data[offset + 1] as number;
    let length = b1 & 0x7f;
    let at = offset + 2;
    if (length === 126) {
      if (data.length < at + 2) break;
      length = data.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (data.length < at + 8) break;
      length = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | undefined;
    if (masked) {
      if (data.length < at + 4) break;
      key = data.subarray(at, at + 4);
      at += 4;
    }
    if (data.length < at + length) break;
    const payload = Buffer.from(data.subarray(at, at + length));
    if (key) {
      for (let i = 0; i < payload.length; i++) {
        payload[i] = (payload[i] as number) ^ (key[i % 4] as number);
      }
    }
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload });
    offset = at + length;
  }
  return { frames, rest: data.subarray(offset) };
}

/** The code and reason of a close frame's payload. */
export function closePayload(payload: Buffer): { code: number | undefined; reason: string } {
  if (payload.length < 2) return { code: undefined, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
}

/** A small seeded PRNG (mulberry32) for reproducible fuzzing. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` pseudo-random bytes from `random`. */
export function randomGarbage(random: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}
