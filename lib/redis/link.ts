/** Called with each message of a subscribed channel (node-redis's buffer-mode listener). */
export type ChannelListener = (payload: Buffer, channel: Buffer) => void;

/** What a link tells the backplane about its connections. */
export interface LinkEvents {
  /** A connection failed (reported once per outage by the backplane). */
  failed(error: unknown): void;
  /** A connection is (again) ready: queued commands may go. */
  ready(): void;
  /** Redis dropped the subscription of `channel` (its slot moved) and node-redis did not restore it. */
  dropped(channel: string): void;
}

/**
 * The backplane's connections to Redis, one server or a cluster: how a message is published and
 * a channel subscribed there, and when commands can be handed to node-redis.
 */
export interface RedisLink {
  /** Whether a PUBLISH can be handed to node-redis now (else it waits in the queue). */
  canPublish(): boolean;
  /** Whether a (un)subscribe can be handed to node-redis now. */
  canSubscribe(): boolean;
  /** Whether every connection is ready: the outage, if there was one, is over. */
  healthy(): boolean;
  /** The lane of `channel`'s publishes: publishes in one lane are delivered in order. */
  publishLane(channel: string): string;
  publish(channel: string, payload: Buffer, signal: AbortSignal): Promise<unknown>;
  /** Any other command (`args`), on the node owning `key`. */
  command(key: string, args: string[], signal: AbortSignal): Promise<unknown>;
  subscribe(channel: string, listener: ChannelListener): Promise<void>;
  unsubscribe(channel: string, listener: ChannelListener): Promise<void>;
  close(): Promise<void>;
}

/**
 * node-redis's `reconnectStrategy` for every connection: exponential from 50 ms, at most a
 * second, with jitter (half to all of the step) so that processes that lost Redis together do not
 * reconnect in lockstep, and delivery resumes within about a second of Redis being back.
 */
export function reconnectDelay(retries: number): number {
  const step = Math.min(50 * 2 ** retries, 1000);
  return Math.round(step * (0.5 + Math.random() / 2));
}
