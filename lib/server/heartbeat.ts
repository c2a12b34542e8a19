/** A connection the heartbeat watches. */
export interface HeartbeatMember {
  /** The round (counted from 1) whose ping is unanswered, 0 when none is outstanding. */
  readonly pingRound: number;
  /** Sends the ping of round `round`; `pingRound` is `round` until the pong. */
  ping(round: number): void;
  /** Drops a connection that did not answer in time. */
  terminate(): void;
}

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
  /**
   * Rounds so far. Members keep the round of their ping rather than its time: a counter stays a
   * small integer, where a time from `performance.now()` has a fraction, and storing the first
   * fraction in a field that held 0 changes every member's hidden class, which deoptimises the
   * code of each connection's message path at the first round.
   */
  #rounds = 0;
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
    const round = ++this.#rounds;
    let pinged = false;
    for (const member of this.#members) {
      if (member.pingRound === 0) {
        member.ping(round);
        pinged = true;
      }
    }
    if (pinged) {
      const sweep: NodeJS.Timeout = setTimeout(() => {
        this.#sweeps.delete(sweep);
        this.#sweep(round);
      }, this.#timeout).unref();
      this.#sweeps.add(sweep);
    }
  }

  /** `timeout` ms after round `round`: drops the members still silent since it or before. */
  #sweep(round: number): void {
    for (const member of this.#members) {
      if (member.pingRound !== 0 && member.pingRound <= round) member.terminate();
    }
  }
}
