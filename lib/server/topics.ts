import { randomBytes } from 'node:crypto';
import { encodeText } from '../utf8.js';
import type { WebSocket } from '../websocket.js';
import { localPresence, type PresenceHost, type PresenceStore } from './presence.js';
import type { PubSub, PubSubFactory, PubSubHost, TopicMessage } from './pubsub.js';

/** A connection that can be on topics. */
export interface TopicMember {
  /** The topics it is on (owned by the member; changed only by {@link Topics}). */
  readonly topics: Set<string>;
  /** A process-unique id, so a publisher can skip itself across processes. */
  readonly memberId: string;
  /** The application's side of the connection. */
  readonly socket: WebSocket;
  /** Queues one published message on the connection (never waits). */
  deliverPublished(message: TopicMessage): void;
}

/** Makes the wire form of a payload once, whatever the number of subscribers. */
export function topicMessage(data: string | Uint8Array, skip?: string): TopicMessage {
  if (typeof data === 'string') return { data: encodeText(data), binary: false, skip };
  if (data instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return { data: bytes, binary: true, skip };
  }
  throw new TypeError('Published data must be a string or a Uint8Array');
}

/**
 * The topics of one plugin instance: which local connections are on which topic, kept in step
 * with the backplane (subscribed while a topic has local members), and delivery to them.
 */
export class Topics implements PubSubHost {
  readonly #members = new Map<string, Set<TopicMember>>();
  readonly #joining = new Map<string, Promise<void>>();
  readonly #backplane: PubSub;
  readonly #onError: (error: unknown) => void;
  /** Told when a topic gains its first local member or loses its last. */
  readonly #onMembership: (topic: string) => void;
  readonly #idPrefix = randomBytes(6).toString('base64url');
  #nextId = 0;

  constructor(
    factory: PubSubFactory,
    onError: (error: unknown) => void,
    onMembership: (topic: string) => void,
  ) {
    this.#onError = onError;
    this.#onMembership = onMembership;
    this.#backplane = factory(this);
  }

  /** A new process-unique member id. */
  newMemberId(): string {
    return `${this.#idPrefix}.${(this.#nextId++).toString(36)}`;
  }

  /** Adds `member` to `topic`; resolves when the backplane delivers the topic here. */
  async subscribe(member: TopicMember, topic: string): Promise<void> {
    let members = this.#members.get(topic);
    if (members === undefined) {
      members = new Set();
      this.#members.set(topic, members);
      this.#onMembership(topic);
      const joining = this.#backplane.subscribe(topic);
      this.#joining.set(topic, joining);
      joining.then(
        () => this.#joining.delete(topic),
        () => this.#joining.delete(topic),
      );
    }
    members.add(member);
    member.topics.add(topic);
    try {
      await this.#joining.get(topic);
    } catch (error) {
      // The backplane could not subscribe: leave nothing half-done behind. The caller gets the
      // subscribe's error; the unsubscribe's own failure (Redis still down) is the plugin's.
      this.#remove(member, topic).catch(this.#onError);
      throw error;
    }
  }

  /** Removes `member` from `topic`, unsubscribing the backplane when it was the last one. */
  async unsubscribe(member: TopicMember, topic: string): Promise<void> {
    if (member.topics.has(topic)) await this.#remove(member, topic);
  }

  /** Removes `member` from all its topics (it disconnected). */
  leaveAll(member: TopicMember): void {
    for (const topic of member.topics) {
      this.#remove(member, topic).catch(this.#onError);
    }
  }

  /** Whether `topic` has local members. */
  has(topic: string): boolean {
    return this.#members.has(topic);
  }

  /** The topics with local members. */
  names(): Iterable<string> {
    return this.#members.keys();
  }

  /** This process's sockets on `topic`. */
  subscribers(topic: string): ReadonlySet<WebSocket> {
    const sockets = new Set<WebSocket>();
    for (const member of this.#members.get(topic) ?? []) sockets.add(member.socket);
    return sockets;
  }

  /** The backplane's presence store, or one for this process alone. */
  presenceStore(host: PresenceHost, options: { readonly timeout: number }): PresenceStore {
    return this.#backplane.presence?.(host, options) ?? localPresence(host);
  }

  /** Hands a message for `topic` to the backplane. */
  publish(topic: string, message: TopicMessage): Promise<void> {
    return this.#backplane.publish(topic, message);
  }

  deliver(topic: string, message: TopicMessage): void {
    const members = this.#members.get(topic);
    if (members === undefined) return;
    const skip = message.skip;
    for (const member of members) {
      if (skip === undefined || member.memberId !== skip) member.deliverPublished(message);
    }
  }

  onError(error: unknown): void {
    this.#onError(error);
  }

  close(): Promise<void> {
    return this.#backplane.close();
  }

  #remove(member: TopicMember, topic: string): Promise<void> {
    member.topics.delete(topic);
    const members = this.#members.get(topic);
    if (members === undefined || !members.delete(member) || members.size > 0) {
      return Promise.resolve();
    }
    this.#members.delete(topic);
    this.#onMembership(topic);
    return this.#backplane.unsubscribe(topic);
  }
}
