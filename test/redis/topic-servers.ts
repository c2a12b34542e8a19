/**
 * The servers and clients of the Redis tests: topic servers (fixtures/topic-app.ts) in child
 * processes or in this one, and peers, clients that send the app's commands and record what
 * is published to them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket as Client } from 'ws';
import type { Gateway, PresenceDiff } from '../../lib/server/index.js';
import type { PubSubFactory } from '../../lib/server/pubsub.js';
import { startTopicApp } from './fixtures/topic-app.js';

const topicFixture = fileURLToPath(new URL('./fixtures/topic-server.ts', import.meta.url));

export interface TopicServer {
  /** ws:// URL of the server. */
  readonly url: string;
  /** What its `onError` was called with. */
  readonly errors: string[];
  stop(): Promise<void>;
}

/** A server of a child process, and what it printed. */
export interface SpawnedServer extends TopicServer {
  readonly unhandled: string[];
  /** The presence changes it heard. */
  readonly presence: PresenceDiff[];
  /** Ends it gracefully (SIGTERM: the plugin closes), unlike `stop()` (SIGKILL). */
  terminate(): Promise<void>;
}

/**
 * A topic server in a child process, with `env` (REDIS_URL, REDIS_CLUSTER, PUBLISH_TIMEOUT), or
 * another `fixture` that prints the same events.
 */
export async function spawnTopicServer(
  env: Record<string, string>,
  fixture = topicFixture,
): Promise<SpawnedServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx/esm', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const errors: string[] = [];
  const unhandled: string[] = [];
  const presence: PresenceDiff[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const event = JSON.parse(line) as {
        port?: number;
        onError?: string;
        unhandled?: string;
        presence?: PresenceDiff;
      };
      if (event.port) resolve(event.port);
      if (event.onError) errors.push(event.onError);
      if (event.unhandled) unhandled.push(event.unhandled);
      if (event.presence) presence.push(event.presence);
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `ws://127.0.0.1:${port}`,
    errors,
    unhandled,
    presence,
    stop: () => end('SIGKILL'),
    terminate: () => end('SIGTERM'),
  };

  async function end(signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

/** A topic server in this process, on its own plugin instance (and its own connections). */
export async function topicServerHere(
  pubsub: PubSubFactory,
): Promise<TopicServer & { readonly gateway: Gateway }> {
  const errors: string[] = [];
  const app = await startTopicApp(pubsub, (error) => errors.push(String(error)));
  return {
    url: app.url,
    errors,
    gateway: app.gateway,
    async stop() {
      await app.gateway.close();
      app.server.close();
    },
  };
}

/**
 * A client that records every message published to it, and whether its connection closed, and
 * can send a command and wait for its answer.
 */
export class Peer {
  readonly received: string[] = [];
  /** The close code, once the connection closed. */
  closed: number | undefined;
  readonly #answers: ((answer: string) => void)[] = [];

  constructor(readonly client: Client) {
    client.on('message', (data: Buffer) => {
      const text = data.toString();
      if (text === 'ok' || text.startsWith('ok ') || text.startsWith('error ')) {
        this.#answers.shift()?.(text);
      } else this.received.push(text);
    });
    client.on('close', (code) => {
      this.closed = code;
    });
  }

  static async open(url: string): Promise<Peer> {
    const client = new Client(url);
    const peer = new Peer(client);
    await once(client, 'open');
    return peer;
  }

  ask(command: string): Promise<string> {
    return new Promise((resolve) => {
      this.#answers.push(resolve);
      this.client.send(command);
    });
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
