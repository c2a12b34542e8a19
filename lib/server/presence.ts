import type { WebSocket } from '../websocket.js';

/**
 * Presence: who is on a topic, across every process sharing the backplane (the model is
 * Phoenix.Presence). An entry is one socket's `key` (usually a user id) and `meta` (JSON);
 * `presence(topic)` groups entries by key, metas in join order.
 */

/** One socket's entry on a topic, as a presence store keeps it. */
export interface PresenceEntry {
  /** Unique across processes: the socket's member id. */
  readonly id: string;
  readonly key: string;
  /** The meta as JSON text. */
  readonly meta: string;
}

/** One change on one topic, entries in join order. */
export interface PresenceChange {
  readonly topic: string;
  readonly joins: readonly PresenceEntry[];
  readonly leaves: readonly PresenceEntry[];
}

/** What `onPresence` listeners receive: like `presence()`, keys to the metas of their entries. */
export interface PresenceDiff {
  topic: string;
  joins: Record<string, unknown[]>;
  leaves: Record<string, unknown[]>;
}

/** A listener of `sockets.onPresence`. */
export type PresenceListener = (diff: PresenceDiff) => void;

/** What a presence store reports to the plugin that created it. */
export interface PresenceHost {
  /**
   * A change on `topic`, from this process or another, reported once per change in every process
   * that watches the topic; `list(topic)` already reflects it.
   */
  changed(change: PresenceChange): void;
  /** The store failed in the background (e.g. lost its connection). */
  onError(error: unknown): void;
  /** This process's entries, to write again after the store lost them. */
  localEntries(): ReadonlyMap<string, ReadonlyMap<string, PresenceEntry>>;
}

/**
 * Where presence state lives. A backplane offers one through `PubSub.presence`; without it,
 * presence is this process's alone. Every method resolves once the state is visible to `list`
 * in every process.
 */
export interface PresenceStore {
  /**
   * Adds `entry` on `topic`, replacing `replaced` (this socket's previous entry there) in the
   * same change; the change reaches `changed` in every process watching the topic.
   */
  join(topic: string, entry: PresenceEntry, replaced: PresenceEntry | undefined): Promise<void>;
  /** Removes entries of this process from `topic`, as one change. */
  leave(topic: string, entries: readonly PresenceEntry[]): Promise<void>;
  /** Every entry on `topic`, in every process, in join order. */
  list(topic: string): Promise<PresenceEntry[]>;
  /** This process has local subscribers or entries on `topic`: report its changes. */
  watch(topic: string): void;
  /** No longer. */
  unwatch(topic: string): void;
  /** Removes this process's entries (the others see the change) and releases resources. */
  close(): Promise<void>;
}

/** Groups entries by key, metas parsed, in the entries' order. */
export function byKey(entries: readonly PresenceEntry[]): Record<string, unknown[]> {
  const grouped: Record<string, unknown[]> = {};
  for (const { key, meta } of entries) {
    const metas = Object.hasOwn(grouped, key) ? grouped[key] : undefined;
    if (metas) metas.push(JSON.parse(meta));
    else grouped[key] = [JSON.parse(meta)];
  }
  return grouped;
}

/**
 * The default store: presence within this process (the in-process backplane's). Changes are
 * reported synchronously, before the call that made them resolves.
 */
export function localPresence(host: PresenceHost): PresenceStore {
  const topics = new Map<string, Map<string, PresenceEntry>>();
  return {
    join(topic, entry, replaced) {
      let entries = topics.get(topic);
      if (entries === undefined) {
        entries = new Map();
        topics.set(topic, entries);
      }
      // Deleting first puts the new entry last: it joins last.
      if (replaced) entries.delete(replaced.id);
      entries.set(entry.id, entry);
      host.changed({ topic, joins: [entry], leaves: replaced ? [replaced] : [] });
      return Promise.resolve();
    },
    leave(topic, leaving) {
      const entries = topics.get(topic);
      const left = leaving.filter((entry) => entries?.delete(entry.id));
      if (entries?.size === 0) topics.delete(topic);
      if (left.length > 0) host.changed({ topic, joins: [], leaves: left });
      return Promise.resolve();
    },
    list: (topic) => Promise.resolve([...(topics.get(topic)?.values() ?? [])]),
    watch() {},
    unwatch() {},
    close() {
      topics.clear();
      return Promise.resolve();
    },
  };
}

/** The topics this process has subscribers on (the plugin's topics). */
export interface Subscriptions {
  has(topic: string): boolean;
  names(): Iterable<string>;
}

/** A connection that can have presence entries. */
export interface PresenceMember {
  readonly memberId: string;
  readonly socket: WebSocket;
}

/**
 * The presence of one plugin instance: this process's entries (one per socket and topic), kept in
 * step with the store, and the `onPresence` listeners.
 */
export class Presence implements PresenceHost {
  readonly #store: PresenceStore;
  readonly #onError: (error: unknown) => void;
  /** topic → member id → entry: this process's entries. */
  readonly #local = new Map<string, Map<string, PresenceEntry>>();
  /** member → topics it has an entry on. */
  readonly #tracked = new Map<PresenceMember, Set<string>>();
  readonly #listeners = new Set<PresenceListener>();
  /** Removals nobody awaits (disconnects), until they are done. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #subscriptions: Subscriptions;

  constructor(
    makeStore: (host: PresenceHost) => PresenceStore,
    subscriptions: Subscriptions,
    onError: (error: unknown) => void,
  ) {
    this.#onError = onError;
    this.#subscriptions = subscriptions;
    this.#store = makeStore(this);
  }

  /** Adds or replaces `member`'s entry on `topic`. */
  async track(member: PresenceMember, topic: string, key: string, meta: string): Promise<void> {
    let entries = this.#local.get(topic);
    if (entries === undefined) {
      entries = new Map();
      this.#local.set(topic, entries);
      this.#rewatch(topic);
    }
    const entry: PresenceEntry = { id: member.memberId, key, meta };
    const replaced = entries.get(entry.id);
    entries.set(entry.id, entry);
    let topics = this.#tracked.get(member);
    if (topics === undefined) {
      topics = new Set();
      this.#tracked.set(member, topics);
    }
    topics.add(topic);
    try {
      await this.#store.join(topic, entry, replaced);
    } catch (error) {
      // A track that failed (the store unreachable for too long) leaves this socket untracked
      // on the topic, here and, once the store answers, there: it never shows up later.
      if (this.#local.get(topic)?.get(entry.id) === entry)
        this.#background(this.untrack(member, topic));
      throw error;
    }
  }

  /** Removes `member`'s entry on `topic`, if any. */
  async untrack(member: PresenceMember, topic: string): Promise<void> {
    const entry = this.#forget(member, topic);
    if (entry) await this.#store.leave(topic, [entry]);
  }

  /** Removes every entry of `member` (it disconnected); failures go to `onError`. */
  leaveAll(member: PresenceMember): void {
    const topics = this.#tracked.get(member);
    if (topics === undefined) return;
    for (const topic of [...topics]) this.#background(this.untrack(member, topic));
  }

  /** A removal nobody awaits: `close()` waits for it (the others must see it); errors to onError. */
  #background(removal: Promise<void>): void {
    const settled = removal.catch(this.#onError);
    this.#inFlight.add(settled);
    settled.finally(() => this.#inFlight.delete(settled));
  }

  /** Every key on `topic` in every process, with the metas of its entries in join order. */
  async list(topic: string): Promise<Record<string, unknown[]>> {
    return byKey(await this.#store.list(topic));
  }

  /** Adds a listener; returns the function that removes it. */
  listen(listener: PresenceListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('onPresence needs a function');
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#rewatchAll();
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#rewatchAll();
    };
  }

  /** A topic gained its first local subscriber or lost its last. */
  subscriptionChanged(topic: string): void {
    this.#rewatch(topic);
  }

  /** Removes this process's entries (the others see the change), then closes the store. */
  async close(): Promise<void> {
    const leaving = [...this.#tracked].flatMap(([member, topics]) =>
      [...topics].map((topic) => this.untrack(member, topic)),
    );
    await Promise.allSettled([...leaving, ...this.#inFlight]);
    await this.#store.close();
  }

  changed(change: PresenceChange): void {
    if (this.#listeners.size === 0) return;
    const diff: PresenceDiff = {
      topic: change.topic,
      joins: byKey(change.joins),
      leaves: byKey(change.leaves),
    };
    for (const listener of this.#listeners) {
      try {
        listener(diff);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  onError(error: unknown): void {
    this.#onError(error);
  }

  localEntries(): ReadonlyMap<string, ReadonlyMap<string, PresenceEntry>> {
    return this.#local;
  }

  #forget(member: PresenceMember, topic: string): PresenceEntry | undefined {
    const topics = this.#tracked.get(member);
    if (!topics?.delete(topic)) return undefined;
    if (topics.size === 0) this.#tracked.delete(member);
    const entries = this.#local.get(topic);
    const entry = entries?.get(member.memberId);
    entries?.delete(member.memberId);
    if (entries?.size === 0) {
      this.#local.delete(topic);
      this.#rewatch(topic);
    }
    return entry;
  }

  /**
   * A topic's changes are worth hearing only for listeners, and only while this process has
   * subscribers or entries on it: without listeners, no backplane traffic at all.
   */
  #rewatch(topic: string): void {
    const wanted =
      this.#listeners.size > 0 && (this.#local.has(topic) || this.#subscriptions.has(topic));
    if (wanted) this.#store.watch(topic);
    else this.#store.unwatch(topic);
  }

  #rewatchAll(): void {
    for (const topic of new Set([...this.#local.keys(), ...this.#subscriptions.names()])) {
      this.#rewatch(topic);
    }
  }
}
