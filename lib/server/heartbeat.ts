/** A connection the heartbeat watches. */
export interface HeartbeatMember {
  /** When the unanswered ping was sent (`performance.now()`), 0 when none is outstanding. */
  readonly pingSentAt: number;
  /** Sends a ping at `now`; `pingSentAt` is `now` until the pong. */
  ping(now: number): void;
  /** Drops a connection that did not answer in time. */
  terminate(): void;
}

// Timers may fire a little early relative to performance.now(); don't let that spare a peer.
const SLACK_MS = 2;

/**
 * One timer for all connections of a plugin instead of one per socket: every `interval` ms each
 * connection without an outstanding ping is pinged, and `timeout` ms after each round those still
 * silent are terminated. The timer runs only while there are members and never keeps the
 * process alive.
 */
export class Heartbeat {
  readonly #members: ReadonlySet<HeartbeatMember>;
  readonly #interval: number;
  readonly #timeout: number;
  #timer: NodeJS.Timeout | undefined;
  readonly #sweeps = new Set<NodeJS.Timeout>();

  constructor(members: ReadonlySet<HeartbeatMember>, interval: number, timeout: number) {
    this.#members = members;
    this.#interval = interval;
    this.#timeout = timeout;
  }

  /** Starts the rounds if they are not running (call after adding a member). */
  wake(): void {
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#round(), this.#interval).unref();
    }
  }

  /** Stops every timer. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const sweep of this.#sweeps) clearTimeout(sweep);
    this.#sweeps.clear();
  }

  #round(): void {
    if (this.#members.size === 0) {
      this.stop();
      return;
    }
    const now = performance.now();
    let pinged = false;
    for (const member of this.#members) {
      if (member.pingSentAt === 0) {
        member.ping(now);
        pinged = true;
      }
    }
    if (pinged) {
      const sweep: NodeJS.Timeout = setTimeout(() => {
        this.#sweeps.delete(sweep);
        this.#sweep();
      }, this.#timeout).unref();
      this.#sweeps.add(sweep);
    }
  }

  #sweep(): void {
    const deadline = performance.now() - this.#timeout + SLACK_MS;
    for (const member of this.#members) {
      if (member.pingSentAt !== 0 && member.pingSentAt <= deadline) member.terminate();
    }
  }
}
