/**
 * Who is in which room, across every process of the demo.
 *
 * Each process knows its own members exactly. With several processes (REDIS_URL set), each one
 * announces the names it has in a room on a process-level channel whenever they change, and
 * all its rooms every 5 s. Announcements carry absolute lists, never deltas, so a repeated or
 * missed one never skews a count for longer than the next announcement, and Redis keeps each
 * publisher's order. Every process thus holds the same view, and pushes `presence` to its own
 * sockets in a room whose members changed.
 *
 * What is approximate: a join on another process shows after one Redis round trip; the people of
 * a worker that crashed stay listed until it has been silent for 15 s; during a Redis outage,
 * other processes' people are dropped after 15 s and come back with the next announcement.
 */
import { randomUUID } from 'node:crypto';
import type { PubSub, PubSubFactory, TopicMessage, WebSocket } from 'wsgate';

const ANNOUNCE_EVERY_MS = 5_000;
const FORGET_AFTER_MS = 15_000;
const CHANNEL = 'presence';

type Announcement =
  | { kind: 'hello'; from: string }
  | { kind: 'room'; from: string; room: string; names: string[] }
  | { kind: 'rooms'; from: string; rooms: Record<string, string[]> }
  | { kind: 'bye'; from: string };

interface Peer {
  rooms: Map<string, string[]>;
  seen: number;
}

export interface RoomCount {
  room: string;
  count: number;
}

export class Presence {
  readonly #id = randomUUID();
  /** This process's sockets in each room, with their names. */
  readonly #local = new Map<string, Map<WebSocket, string>>();
  /** The names other processes last announced per room. */
  readonly #peers = new Map<string, Peer>();
  readonly #channel: PubSub | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  /**
   * `backplane`: how processes talk, e.g. `redisPubSub({ url })`, the factory the wsgate plugin
   * also takes (here opened once for the process rather than per socket). None: one process.
   */
  static async create(backplane?: PubSubFactory): Promise<Presence> {
    const presence = new Presence(backplane);
    try {
      await presence.#channel?.subscribe(CHANNEL);
    } catch (error) {
      await presence.close();
      throw error;
    }
    presence.#announce({ kind: 'hello', from: presence.#id });
    return presence;
  }

  private constructor(backplane?: PubSubFactory) {
    if (backplane === undefined) return;
    this.#channel = backplane({
      deliver: (_topic: string, message: TopicMessage) => {
        this.#receive(JSON.parse(message.data.toString()) as Announcement);
      },
      onError: (error: unknown) => console.error('presence channel:', String(error)),
    });
    this.#timer = setInterval(() => this.#tick(), ANNOUNCE_EVERY_MS).unref();
  }

  /** Adds `socket` to `room` as `name`; returns the function that removes it. */
  join(room: string, socket: WebSocket, name: string): () => void {
    let members = this.#local.get(room);
    if (members === undefined) {
      members = new Map();
      this.#local.set(room, members);
    }
    members.set(socket, name);
    this.#localChange(room);
    return () => {
      if (!members.delete(socket)) return;
      if (members.size === 0) this.#local.delete(room);
      this.#localChange(room);
    };
  }

  /** Everyone in `room`, in every process, sorted by name. */
  names(room: string): string[] {
    const names = [...(this.#local.get(room)?.values() ?? [])];
    for (const peer of this.#peers.values()) names.push(...(peer.rooms.get(room) ?? []));
    return names.sort((a, b) => a.localeCompare(b));
  }

  /** How many are in each of `rooms` and in any other room with someone in it. */
  counts(rooms: readonly string[]): RoomCount[] {
    const all = new Set(rooms);
    for (const room of this.#local.keys()) all.add(room);
    for (const peer of this.#peers.values()) for (const room of peer.rooms.keys()) all.add(room);
    return [...all].map((room) => ({ room, count: this.names(room).length }));
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    if (this.#channel === undefined) return;
    await this.#channel.publish(CHANNEL, encode({ kind: 'bye', from: this.#id })).catch(() => {});
    await this.#channel.close();
  }

  #localChange(room: string): void {
    this.#announce({ kind: 'room', from: this.#id, room, names: this.#localNames(room) });
    this.#push(room);
  }

  /** Sends the room's presence to this process's sockets in it (never waits for one). */
  #push(room: string): void {
    const members = this.#local.get(room);
    if (members === undefined) return;
    const names = this.names(room);
    const message = { type: 'presence', room, count: names.length, names };
    for (const socket of members.keys()) socket.sendJson(message).catch(() => {});
  }

  #receive(announcement: Announcement): void {
    if (announcement.from === this.#id) return;
    switch (announcement.kind) {
      case 'hello':
        this.#announce({ kind: 'rooms', from: this.#id, rooms: this.#allLocalNames() });
        return;
      case 'bye':
        this.#forget(announcement.from);
        return;
      case 'room':
        this.#update(announcement.from, { [announcement.room]: announcement.names }, false);
        return;
      case 'rooms':
        this.#update(announcement.from, announcement.rooms, true);
        return;
    }
  }

  /** Records what a process announced; `all`: the rooms it did not name are empty. */
  #update(from: string, rooms: Record<string, string[]>, all: boolean): void {
    let peer = this.#peers.get(from);
    if (peer === undefined) {
      peer = { rooms: new Map(), seen: 0 };
      this.#peers.set(from, peer);
    }
    peer.seen = Date.now();
    const named = new Map(Object.entries(rooms));
    if (all) for (const room of peer.rooms.keys()) if (!named.has(room)) named.set(room, []);
    for (const [room, names] of named) {
      const before = peer.rooms.get(room) ?? [];
      if (names.length > 0) peer.rooms.set(room, names);
      else peer.rooms.delete(room);
      if (names.join('\n') !== before.join('\n')) this.#push(room);
    }
  }

  #forget(from: string): void {
    const peer = this.#peers.get(from);
    this.#peers.delete(from);
    for (const room of peer?.rooms.keys() ?? []) this.#push(room);
  }

  /** Every few seconds: tell the others all we have, forget the processes gone silent. */
  #tick(): void {
    this.#announce({ kind: 'rooms', from: this.#id, rooms: this.#allLocalNames() });
    const silentSince = Date.now() - FORGET_AFTER_MS;
    for (const [from, peer] of this.#peers) if (peer.seen < silentSince) this.#forget(from);
  }

  #announce(announcement: Announcement): void {
    // An unreachable Redis is reported once by the channel's onError; the next tick catches up.
    this.#channel?.publish(CHANNEL, encode(announcement)).catch(() => {});
  }

  #localNames(room: string): string[] {
    return [...(this.#local.get(room)?.values() ?? [])];
  }

  #allLocalNames(): Record<string, string[]> {
    return Object.fromEntries(
      [...this.#local.keys()].map((room) => [room, this.#localNames(room)]),
    );
  }
}

function encode(announcement: Announcement): TopicMessage {
  return { data: Buffer.from(JSON.stringify(announcement)), binary: false };
}
