import { classify, unreachable } from './failures.js';

/** One command for Redis, as the queue hands it to node-redis. */
export interface Command<T> {
  /** Hands the command to node-redis; `signal` withdraws it if it is not written yet. */
  send(signal: AbortSignal): Promise<T>;
  /**
   * Whether sending it twice does no harm (SUBSCRIBE, UNSUBSCRIBE): it is sent again after a
   * connection failure. A PUBLISH is not: Redis may have run it before the connection failed.
   */
  readonly idempotent: boolean;
  /** Whether it fails when it could not be sent within the queue's timeout (else it waits). */
  readonly timed: boolean;
}

/** Commands that keep their order, oldest first. */
interface Lane {
  readonly name: string;
  readonly entries: Entry[];
  /** A command of it could not be sent: nothing is handed over until the retry. */
  blocked: boolean;
  /**
   * After a command could not be sent, the lane's first waiting command alone is tried (the
   * probe) until one gets through: a shard that stays down costs one attempt per retry, not one
   * per queued command.
   */
  probing: boolean;
  probe: Entry | undefined;
}

interface Entry {
  readonly command: Command<unknown>;
  readonly lane: Lane;
  readonly controller: AbortController;
  /**
   * `waiting`: not handed to node-redis yet (or handed and certainly not sent: to be retried);
   * `sent`: handed over, its outcome is node-redis's; `settled`: its caller has the answer.
   */
  state: 'waiting' | 'sent' | 'settled';
  expired: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/** A command that could not be sent is tried again after this long (with jitter). */
const RETRY_MS = 100;

/**
 * The commands of one side of the backplane (publishing or subscribing), in lanes that keep
 * their order: every command of a lane is handed to node-redis after the ones before it, and a
 * command that could not be sent holds back the lane behind it until it is.
 *
 * node-redis's own offline queue is off (it would send a command after its caller gave up on
 * it); commands wait here instead while `canSend()` is false, and at most `timeout` ms for the
 * timed ones. A timed command that expires is withdrawn (unsent or aborted before node-redis
 * writes it), so a rejected publish is never delivered later.
 */
export class CommandQueue {
  readonly #lanes = new Map<string, Lane>();
  readonly #timeout: number;
  readonly #canSend: () => boolean;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(timeout: number, canSend: () => boolean) {
    this.#timeout = timeout;
    this.#canSend = canSend;
  }

  /**
   * Queues `command` behind the commands of `lane`; settles as node-redis does (with Redis's
   * reply), or on timeout.
   */
  run<T>(lane: string, command: Command<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('wsgate: the Redis backplane is closed'));
    let queued = this.#lanes.get(lane);
    if (queued === undefined) {
      queued = { name: lane, entries: [], blocked: false, probing: false, probe: undefined };
      this.#lanes.set(lane, queued);
    }
    const target = queued;
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = {
        command,
        lane: target,
        controller: new AbortController(),
        state: 'waiting',
        expired: false,
        timer: undefined,
        resolve: resolve as (reply: unknown) => void,
        reject,
      };
      if (command.timed) {
        entry.timer = setTimeout(() => this.#expire(entry), this.#timeout);
        entry.timer.unref();
      }
      target.entries.push(entry);
      this.#pump(target);
    });
  }

  /** Hands every waiting command to node-redis while it can take them (e.g. on reconnection). */
  resume(): void {
    for (const lane of this.#lanes.values()) {
      lane.blocked = false;
      this.#pump(lane);
    }
  }

  /** Rejects everything still queued; later calls reject at once. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
    const closed = new Error('wsgate: the Redis backplane is closed');
    for (const lane of [...this.#lanes.values()]) {
      for (const entry of [...lane.entries]) this.#settle(entry, closed);
    }
  }

  #pump(lane: Lane): void {
    if (this.#closed) return; // what close() rejects must not be handed over meanwhile
    for (const entry of lane.entries) {
      if (entry.state === 'sent') continue;
      if (lane.blocked || lane.probe !== undefined || !this.#canSend()) return;
      this.#send(entry);
      if (lane.probing) lane.probe = entry;
    }
  }

  #send(entry: Entry): void {
    entry.state = 'sent';
    entry.command.send(entry.controller.signal).then(
      (reply) => this.#settle(entry, undefined, reply),
      (error: unknown) => this.#failed(entry, error),
    );
  }

  #failed(entry: Entry, error: unknown): void {
    if (entry.state === 'settled') return; // expired or closed meanwhile
    const failure = classify(error);
    if (failure === 'refused') {
      this.#settle(entry, error);
    } else if (entry.expired || (failure === 'lost' && !entry.command.idempotent)) {
      this.#settle(entry, unreachable(error));
    } else {
      const { lane } = entry;
      if (lane.probe === entry) lane.probe = undefined;
      entry.state = 'waiting';
      lane.blocked = true;
      lane.probing = true;
      this.#scheduleRetry();
    }
  }

  /** The timeout passed: withdraw the command, unless node-redis already wrote a publish. */
  #expire(entry: Entry): void {
    entry.expired = true;
    entry.controller.abort();
    // A written PUBLISH may have been delivered: its outcome is node-redis's to tell.
    if (entry.state === 'waiting' || entry.command.idempotent) {
      this.#settle(entry, unreachable(undefined));
    }
  }

  #scheduleRetry(): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(
      () => {
        this.#retry = undefined;
        this.resume();
      },
      RETRY_MS * (0.5 + Math.random()),
    );
    this.#retry.unref();
  }

  #settle(entry: Entry, error?: unknown, reply?: unknown): void {
    if (entry.state === 'settled') return;
    entry.state = 'settled';
    const { lane } = entry;
    lane.entries.splice(lane.entries.indexOf(entry), 1);
    if (lane.entries.length === 0 && this.#lanes.get(lane.name) === lane) {
      this.#lanes.delete(lane.name);
    }
    clearTimeout(entry.timer);
    if (lane.probe === entry) {
      // The probe is through (or given up): the commands behind it may go.
      lane.probe = undefined;
      if (error === undefined) lane.probing = false;
      this.#pump(lane);
    }
    if (error === undefined) entry.resolve(reply);
    else entry.reject(error);
  }
}
