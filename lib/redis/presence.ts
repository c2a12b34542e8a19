import { randomBytes } from 'node:crypto';
import type {
  PresenceChange,
  PresenceEntry,
  PresenceHost,
  PresenceStore,
} from '../server/presence.js';
import { decodeText, encodeText } from '../utf8.js';

/** What the presence store needs from the backplane: its connections and queues. */
export interface PresenceChannel {
  /**
   * Runs one command (`args`) on the node owning `key`, in order with the other commands of that
   * key, waiting for Redis like a publish (at most `publishTimeout`). `idempotent`: it may be
   * sent again after a connection failure.
   */
  command(key: string, args: string[], idempotent: boolean): Promise<unknown>;
  /** Publishes on `channel` (sharded on a cluster), like a topic message. */
  publish(channel: string, payload: Buffer): Promise<unknown>;
  /** Holds a subscription of `channel` (restored after outages) until `unsubscribe`. */
  subscribe(channel: string, listener: (payload: Buffer) => void): Promise<void>;
  unsubscribe(channel: string): void;
}

/**
 * Adds an entry unless it is there (`ARGV[3]` = '1') or always, replacing it: a new join number
 * from the topic's counter (the hash's field '', never an entry id) keeps the join order across
 * processes. Returns 1 when it wrote.
 */
const JOIN = `
if ARGV[3] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], '', 1)
redis.call('HSET', KEYS[1], ARGV[1], seq .. ' ' .. ARGV[2])
return 1`;

/** Removes entries; the hash goes with its last entry (only the counter left). */
const LEAVE = `
local removed = redis.call('HDEL', KEYS[1], unpack(ARGV))
if redis.call('HLEN', KEYS[1]) == 1 then redis.call('DEL', KEYS[1]) end
return removed`;

/**
 * Each tick renews this process's sign of life (which lasts half the timeout, so two late ticks
 * are forgiven) and sweeps the dead: a dead process's entries are gone within two thirds of the
 * timeout after its last sign of life.
 */
const TICKS_PER_TIMEOUT = 6;

interface Stored extends PresenceEntry {
  readonly seq: number;
  /** The store (process) that owns it. */
  readonly owner: string;
}

/** `[owner, key, meta]` after the join number, in the hash. */
function parseStored(id: string, value: string): Stored | undefined {
  const space = value.indexOf(' ');
  try {
    const [owner, key, meta] = JSON.parse(value.slice(space + 1)) as [string, string, string];
    return { id, key, meta, owner, seq: Number(value.slice(0, space)) };
  } catch {
    return undefined;
  }
}

interface Diff {
  /** The store that made the change: it told its own listeners already. */
  from: string;
  joins: PresenceEntry[];
  leaves: PresenceEntry[];
}

/**
 * Presence through Redis, next to the topics: state in Redis (so a process that starts later sees
 * who is there), changes published to the processes watching the topic, dead processes noticed.
 *
 * Per topic T, with the hash tag `{T}` (its hash and channel on one cluster shard, topics spread
 * over shards): a hash `<prefix>presence:{T}` of entry id → "seq [owner, key, meta]" (and its
 * join counter), and the channel `<prefix>presence:{T}` of its changes.
 * Each process renews `<prefix>presence-alive:<owner>`; every tick also sweeps the entries of
 * owners whose key expired off the topics it watches (one change per topic), and writes its own
 * entries back when its key had expired (it was taken for dead, or Redis restarted empty).
 */
export class RedisPresence implements PresenceStore {
  readonly #host: PresenceHost;
  readonly #channel: PresenceChannel;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #owner = randomBytes(9).toString('base64url');
  readonly #watched = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  #ticking = false;
  /** A tick failed: the next failures are not reported again until one succeeds. */
  #failing = false;
  #closed = false;

  constructor(
    host: PresenceHost,
    channel: PresenceChannel,
    options: { readonly prefix: string; readonly timeout: number },
  ) {
    this.#host = host;
    this.#channel = channel;
    this.#prefix = options.prefix;
    this.#timeout = options.timeout;
    this.#timer = setInterval(() => this.#tick(), options.timeout / TICKS_PER_TIMEOUT);
    this.#timer.unref();
    this.#tick();
  }

  async join(topic: string, entry: PresenceEntry, replaced: PresenceEntry | undefined) {
    await this.#write(topic, entry, false);
    await this.#announce(topic, [entry], replaced ? [replaced] : []);
  }

  async leave(topic: string, entries: readonly PresenceEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if ((await this.#remove(topic, entries)) > 0) await this.#announce(topic, [], entries);
  }

  /** The live entries: a dead process's found here leave now, as the sweep would have it. */
  async list(topic: string): Promise<PresenceEntry[]> {
    const live = await this.#sweep(topic);
    return live.map(({ id, key, meta }) => ({ id, key, meta }));
  }

  watch(topic: string): void {
    if (this.#watched.has(topic) || this.#closed) return;
    this.#watched.add(topic);
    this.#channel
      .subscribe(this.#key(topic), (payload) => this.#heard(topic, payload))
      .catch((error: unknown) => this.#host.onError(error));
  }

  unwatch(topic: string): void {
    if (!this.#watched.delete(topic)) return;
    this.#channel.unsubscribe(this.#key(topic));
  }

  /** The plugin removed this process's entries already: its sign of life goes. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#channel
      .command(this.#alive(this.#owner), ['DEL', this.#alive(this.#owner)], true)
      .catch(() => {});
  }

  /** The topic's hash (also its channel's name): `{topic}` is the cluster hash tag. */
  #key(topic: string): string {
    return `${this.#prefix}presence:{${topic}}`;
  }

  #alive(owner: string): string {
    return `${this.#prefix}presence-alive:${owner}`;
  }

  /** Writes `entry`; `ifMissing`: only when it is not there. Resolves with whether it wrote. */
  async #write(topic: string, entry: PresenceEntry, ifMissing: boolean): Promise<boolean> {
    const key = this.#key(topic);
    const value = JSON.stringify([this.#owner, entry.key, entry.meta]);
    const args = ['EVAL', JOIN, '1', key, entry.id, value, ifMissing ? '1' : '0'];
    return Number(await this.#channel.command(key, args, true)) === 1;
  }

  /** Removes entries; resolves with how many were there. */
  async #remove(topic: string, entries: readonly PresenceEntry[]): Promise<number> {
    const key = this.#key(topic);
    const ids = entries.map((entry) => entry.id);
    return Number(await this.#channel.command(key, ['EVAL', LEAVE, '1', key, ...ids], true));
  }

  /** Every entry on `topic`, in join order. */
  async #stored(topic: string): Promise<Stored[]> {
    const fields = (await this.#channel.command(
      this.#key(topic),
      ['HGETALL', this.#key(topic)],
      true,
    )) as string[] | Record<string, string>;
    const pairs = Array.isArray(fields) ? fields : Object.entries(fields).flat();
    const entries: Stored[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const id = String(pairs[i]);
      if (id === '') continue; // the join counter
      const entry = parseStored(id, String(pairs[i + 1]));
      if (entry) entries.push(entry);
    }
    return entries.sort((a, b) => a.seq - b.seq);
  }

  /**
   * Tells this process's listeners, then the other processes watching the topic. A change of this
   * process's own entries concerns it (it hears its own first join and last leave); another's
   * (swept) only while it watches the topic.
   */
  async #announce(
    topic: string,
    joins: readonly PresenceEntry[],
    leaves: readonly PresenceEntry[],
    own = true,
  ): Promise<void> {
    if (own || this.#watched.has(topic)) this.#host.changed({ topic, joins, leaves });
    const diff: Diff = { from: this.#owner, joins: [...joins], leaves: [...leaves] };
    // The state is written: a change others miss (Redis gone again) is theirs to list later.
    await this.#channel
      .publish(this.#key(topic), encodeText(JSON.stringify(diff)))
      .catch((error: unknown) => this.#host.onError(error));
  }

  #heard(topic: string, payload: Buffer): void {
    let diff: Diff;
    try {
      diff = JSON.parse(decodeText(payload)) as Diff;
    } catch {
      return;
    }
    if (diff.from === this.#owner) return;
    const change: PresenceChange = { topic, joins: diff.joins, leaves: diff.leaves };
    this.#host.changed(change);
  }

  /** Renews this process's sign of life, restores what was lost, sweeps the dead. */
  #tick(): void {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    this.#tickOnce()
      .then(
        () => {
          this.#failing = false;
        },
        (error: unknown) => {
          // An outage fails every tick: the backplane reports it once, so does this.
          if (!this.#failing && !this.#closed) this.#host.onError(error);
          this.#failing = true;
        },
      )
      .finally(() => {
        this.#ticking = false;
      });
  }

  async #tickOnce(): Promise<void> {
    const alive = this.#alive(this.#owner);
    const life = String(Math.ceil(this.#timeout / 2));
    const before = await this.#channel.command(alive, ['SET', alive, '1', 'PX', life, 'GET'], true);
    if (before === null) await this.#restore();
    const topics = new Set([...this.#watched, ...this.#host.localEntries().keys()]);
    for (const topic of topics) await this.#sweep(topic);
  }

  /** Writes back this process's entries that Redis no longer has, one change per topic. */
  async #restore(): Promise<void> {
    for (const [topic, entries] of this.#host.localEntries()) {
      const written: PresenceEntry[] = [];
      for (const entry of entries.values()) {
        if (await this.#write(topic, entry, true)) written.push(entry);
      }
      if (written.length > 0) await this.#announce(topic, written, []);
    }
  }

  /**
   * Removes the entries of processes whose sign of life expired, as one change; resolves with
   * the others.
   */
  async #sweep(topic: string): Promise<Stored[]> {
    const entries = await this.#stored(topic);
    const owners = new Set(entries.map((entry) => entry.owner));
    owners.delete(this.#owner);
    const dead = new Set<string>();
    for (const owner of owners) {
      const alive = this.#alive(owner);
      if (Number(await this.#channel.command(alive, ['EXISTS', alive], true)) === 0) {
        dead.add(owner);
      }
    }
    if (dead.size === 0) return entries;
    const leaving = entries.filter((entry) => dead.has(entry.owner));
    // Another process's sweep may have won: only the one that removed them announces.
    if ((await this.#remove(topic, leaving)) > 0) {
      const left = leaving.map(({ id, key, meta }) => ({ id, key, meta }));
      await this.#announce(topic, [], left, false);
    }
    return entries.filter((entry) => !dead.has(entry.owner));
  }
}
