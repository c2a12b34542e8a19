/**
 * The chat itself, shared by the Express and the Koa app: the check the `requireName`
 * middleware makes before the handshake, the WebSocket handler of `/rooms/:room`, and the page.
 *
 * Protocol (JSON text frames). The client sends `{ type: 'message', text }`. The server sends
 * `welcome` (once), then any of `presence`, `join`, `leave`, `message`, `error`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PubSubFactory, WebSocket, WebSocketPlugin } from 'wsgate';
import { redisPubSub } from 'wsgate/redis';

export type Backend = 'express' | 'koa';

/** The rooms the page lists even when nobody is in them. */
export const ROOMS = ['general', 'random', 'help'] as const;
const ROOM = /^[a-z0-9][a-z0-9-]{0,23}$/;
const MAX_NAME = 24;
const MAX_TEXT = 2000;

/**
 * Why an upgrade to `/rooms/:room` is refused (the body of the 400 response), or `undefined`.
 * The `requireName` middleware of both apps is this check, run before the handshake.
 */
export function refusal(room: unknown, name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') {
    return 'A name is required to join a room: connect to /rooms/<room>?name=<your name>.';
  }
  if (name.trim().length > MAX_NAME) return `A name has at most ${MAX_NAME} characters.`;
  if (typeof room !== 'string' || !ROOM.test(room)) {
    return 'A room name is 1 to 24 lowercase letters, digits or dashes.';
  }
  return undefined;
}

export interface ChatOptions {
  backend: Backend;
  /** Share rooms with every process on this Redis. */
  redisUrl?: string | undefined;
}

/** A room's topic: its messages, and its presence (who is in it, in every process). */
function topicOf(room: string): string {
  return `room:${room}`;
}

/** Which rooms have people: each socket also tracks its room (as the key) on this topic. */
const ROOM_INDEX = 'rooms';

/** The names in a room, from `sockets.presence()`: one key per name, however many tabs. */
function namesIn(presence: Record<string, unknown[]>): string[] {
  return Object.keys(presence).sort((a, b) => a.localeCompare(b));
}

export class Chat {
  readonly backend: Backend;
  /** The `pubsub` option for `websocket()`: Redis when configured, else wsgate's in-process default. */
  readonly pubsub: PubSubFactory | undefined;
  #sockets: WebSocketPlugin | undefined;

  constructor(options: ChatOptions) {
    this.backend = options.backend;
    this.pubsub = options.redisUrl ? redisPubSub({ url: options.redisUrl }) : undefined;
  }

  /**
   * Serves the chat through `sockets` (the plugin made with {@link pubsub}): every presence
   * change in a room, from any process, is pushed to the room's sockets in this one.
   */
  use(sockets: WebSocketPlugin): void {
    this.#sockets = sockets;
    sockets.onPresence(({ topic }) => {
      this.#pushPresence(sockets, topic).catch(() => {});
    });
  }

  /** What `GET /api/rooms` answers: the rooms to list, with how many people are in each. */
  async rooms(): Promise<{
    backend: Backend;
    shared: boolean;
    rooms: { room: string; count: number }[];
  }> {
    const index = (await this.#sockets?.presence(ROOM_INDEX)) ?? {};
    const rooms = [...new Set([...ROOMS, ...Object.keys(index)])].map((room) => ({
      room,
      count: index[room]?.length ?? 0,
    }));
    return { backend: this.backend, shared: this.pubsub !== undefined, rooms };
  }

  /** The handler of `/rooms/:room`, once `requireName` let the upgrade through. */
  async join(
    socket: WebSocket,
    sockets: WebSocketPlugin,
    room: string,
    name: string,
  ): Promise<void> {
    const topic = topicOf(room);
    const id = randomUUID();
    await socket.accept();
    await socket.sendJson({
      type: 'welcome',
      id,
      room,
      name,
      worker: process.pid,
      backend: this.backend,
    });
    await socket.subscribe(topic); // resolves once messages to the room (from any process) arrive here
    // Everyone in the room hears of it (onPresence in `use`); it leaves when the socket does.
    await socket.track(topic, name, { id });
    await socket.track(ROOM_INDEX, room);
    try {
      await socket.publishJson(topic, { type: 'join', name, at: Date.now() }); // everyone but me
      for await (const message of socket.iterJson()) {
        const text = messageText(message);
        if (text === undefined) {
          await socket.sendJson({
            type: 'error',
            message: 'Send { "type": "message", "text": "…" }.',
          });
          continue;
        }
        const posted = { type: 'message', id: randomUUID(), from: id, name, text, at: Date.now() };
        try {
          await sockets.publishJson(topic, posted); // everyone in the room, me included
        } catch {
          await socket.sendJson({ type: 'error', message: 'Your message could not be delivered.' });
        }
      }
    } catch (error) {
      // iterJson() stops on a frame that is not JSON: close with 1003 (unsupported data).
      if (!(error instanceof SyntaxError)) throw error;
      await socket.close(1003, 'Messages are JSON');
    } finally {
      await sockets.publishJson(topic, { type: 'leave', name, at: Date.now() }).catch(() => {});
    }
  }

  /** Sends a room's presence to this process's sockets in it (never waits for one). */
  async #pushPresence(sockets: WebSocketPlugin, topic: string): Promise<void> {
    if (!topic.startsWith('room:')) return;
    const presence = await sockets.presence(topic);
    const message = {
      type: 'presence',
      room: topic.slice('room:'.length),
      // Sockets, as in the room list; a name with two tabs is listed once.
      count: Object.values(presence).reduce((sum, metas) => sum + metas.length, 0),
      names: namesIn(presence),
    };
    for (const socket of sockets.subscribers(topic)) socket.sendJson(message).catch(() => {});
  }
}

function messageText(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, text } = message as { type?: unknown; text?: unknown };
  if (type !== 'message' || typeof text !== 'string' || text.trim() === '') return undefined;
  return text.trim().slice(0, MAX_TEXT);
}

/** The page: three files read once, served by either app. */
const PAGES: Record<string, { type: string; body: Buffer }> = {};
for (const [file, type] of [
  ['index.html', 'text/html; charset=utf-8'],
  ['app.js', 'text/javascript; charset=utf-8'],
  ['style.css', 'text/css; charset=utf-8'],
] as const) {
  PAGES[`/${file}`] = { type, body: readFileSync(new URL(`./public/${file}`, import.meta.url)) };
}
PAGES['/'] = PAGES['/index.html'] as { type: string; body: Buffer };

/** The static file at `path` (`/`, `/app.js`, …), or `undefined`. */
export function page(path: string): { type: string; body: Buffer } | undefined {
  return PAGES[path];
}
