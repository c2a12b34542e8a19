import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';

const LOOPBACK = '127.0.0.1';
/** The server end's port: the client asks for `ws://localhost/…`, port 80. */
const SERVER_PORT = 80;
const EPHEMERAL_PORTS = { first: 49_152, count: 16_384 } as const;
let connections = 0;

/**
 * One end of an in-memory connection, standing in for a `net.Socket`. What is written to one
 * end is read from the other on a later turn of the event loop, with backpressure: a write
 * completes once the peer has room to read it, so a peer that stops reading (as wsgate does
 * above `receiveBuffer`) stops the writer, as TCP would, only with the streams' buffers instead
 * of the kernel's. Ending one end is a FIN to the other; with `allowHalfOpen` off, as on a
 * `net.Socket`, each end then ends and closes.
 *
 * Beyond the stream, it has what Node's HTTP server and client, `ws` and the frameworks use of
 * a `net.Socket`: addresses (`req.ip`, `ctx.ip`), `setNoDelay`, `setKeepAlive`, `setTimeout`,
 * `ref`/`unref` and `destroySoon`. There is no handle: nothing here keeps the process alive.
 */
export class MemorySocket extends Duplex {
  readonly remoteAddress = LOOPBACK;
  readonly remoteFamily = 'IPv4';
  readonly remotePort: number;
  readonly localAddress = LOOPBACK;
  readonly localPort: number;
  #peer: MemorySocket | undefined;
  /** The callback of this end's write, waiting until the peer reads again. */
  #writeDone: (() => void) | undefined;

  constructor(localPort: number, remotePort: number) {
    super({ allowHalfOpen: false });
    this.localPort = localPort;
    this.remotePort = remotePort;
  }

  /** Two connected ends: `[client, server]`. */
  static pair(): [client: MemorySocket, server: MemorySocket] {
    const clientPort = EPHEMERAL_PORTS.first + (connections++ % EPHEMERAL_PORTS.count);
    const client = new MemorySocket(clientPort, SERVER_PORT);
    const server = new MemorySocket(SERVER_PORT, clientPort);
    client.#peer = server;
    server.#peer = client;
    return [client, server];
  }

  override _read(): void {
    const peer = this.#peer;
    if (peer !== undefined) peer.#release();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.#send([chunk], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void {
    this.#send(
      chunks.map(({ chunk }) => chunk),
      callback,
    );
  }

  /**
   * Hands `chunks` to the peer on a later turn of the event loop, as a kernel socket would: never
   * from inside `write()`, where the peer's answer would run in the middle of the writer's own
   * code (`ws` closing both ends at once, within one `close()` call, leaves a timer behind).
   */
  #send(chunks: Buffer[], callback: () => void): void {
    setImmediate(() => {
      const peer = this.#peer;
      let room = true;
      // A peer that is gone loses what is sent, as a closed TCP port does.
      if (peer !== undefined) for (const chunk of chunks) room = peer.push(chunk);
      if (room) callback();
      else this.#writeDone = callback;
    });
  }

  override _final(callback: () => void): void {
    this.#peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const peer = this.#peer;
    this.#peer = undefined;
    if (peer !== undefined) {
      // The peer sees the end of the stream (a FIN: there are no resets in memory), and its
      // writes, the one waiting for this end to read included, complete unread, so it can
      // finish and close too.
      peer.#peer = undefined;
      peer.push(null);
      peer.#release();
    }
    this.#release();
    callback(error);
  }

  #release(): void {
    const done = this.#writeDone;
    this.#writeDone = undefined;
    done?.();
  }

  address(): AddressInfo {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  // No kernel socket: Nagle's algorithm, keep-alive probes and the reference that keeps the
  // event loop alive do not exist, so these only keep `net.Socket`'s signatures.

  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /**
   * Idle timeouts are not kept. Nothing on this path sets one: the HTTP server connect()
   * creates has none (`server.timeout` is 0), an upgrade is never kept alive (no
   * `keepAliveTimeout`), the client sets none, and wsgate and `ws` clear theirs with
   * `setTimeout(0)`.
   */
  setTimeout(_timeout: number, _callback?: () => void): this {
    return this;
  }

  /** Ends, then closes once flushed: what Node's HTTP server calls after a refusal. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }
}
