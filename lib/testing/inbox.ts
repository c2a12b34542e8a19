import { WebSocketDisconnect } from '../errors.js';
import { timedOut } from './errors.js';

/** A message as it arrived: the frame kind matters to the test client. */
export type Frame = { binary: false; text: string } | { binary: true; bytes: Buffer };

/** The close code and reason of a connection that ended. */
export interface CloseInfo {
  /** The close code (1000 normal closure, 1006 when the connection broke, …). */
  code: number;
  /** The close reason, or `''`. */
  reason: string;
}

interface Waiting {
  resolve(frame: Frame): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * What the server sent and the test has not received yet, in order, then how the connection
 * ended. Receives waiting at once are served in call order; each waits at most its timeout, and
 * one that gave up leaves the next message to the next receive.
 */
export class Inbox {
  readonly #frames: Frame[] = [];
  readonly #waiting: Waiting[] = [];
  #end: CloseInfo | undefined;

  /** A message arrived. */
  deliver(frame: Frame): void {
    const waiting = this.#waiting.shift();
    if (waiting === undefined) {
      this.#frames.push(frame);
      return;
    }
    clearTimeout(waiting.timer);
    waiting.resolve(frame);
  }

  /** The connection is gone: receives waiting now, and any after the unread messages, reject. */
  end(info: CloseInfo): void {
    this.#end ??= info;
    for (const waiting of this.#waiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(disconnect(this.#end));
    }
  }

  /** How the connection ended, once it has. */
  get ended(): CloseInfo | undefined {
    return this.#end;
  }

  /**
   * The next message; if none comes within `timeout` ms, rejects with an error that names
   * `what` waited and for how long.
   */
  next(what: string, timeout: number): Promise<Frame> {
    const frame = this.#frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.#end !== undefined) return Promise.reject(disconnect(this.#end));
    return new Promise((resolve, reject) => {
      const waiting: Waiting = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiting), 1);
          reject(timedOut(`${what} waited ${timeout} ms for a message, and none came`));
        }, timeout),
      };
      this.#waiting.push(waiting);
    });
  }
}

function disconnect({ code, reason }: CloseInfo): WebSocketDisconnect {
  return new WebSocketDisconnect(code, reason);
}
