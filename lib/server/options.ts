import type { IncomingMessage } from 'node:http';
import type { PerMessageDeflateOptions } from 'ws';
import { inProcessPubSub, type PubSubFactory } from './pubsub.js';

/** Allowed `Origin` values, or a predicate deciding per request. */
export type OriginPolicy =
  | readonly string[]
  | ((origin: string | undefined, req: IncomingMessage) => boolean);

/** Ping/pong liveness checks. */
export interface HeartbeatOptions {
  /** Milliseconds between pings. Default 20 000. */
  interval?: number;
  /** Milliseconds a pong may take before the connection is terminated. Default 20 000. */
  timeout?: number;
}

/** Options of `websocket(options)`, the same for every adapter. */
export interface WebSocketPluginOptions {
  /** Largest message in bytes; larger ones close the connection with 1009. Default 16 MiB. */
  maxPayload?: number;
  /** Allowed origins; others are refused with HTTP 403 before any handler runs. Default: all. */
  origins?: OriginPolicy;
  /** Ping every `interval` ms, terminate without a pong within `timeout` ms; `false`: off. */
  heartbeat?: HeartbeatOptions | false;
  /** permessage-deflate, passed to `ws`. Default `false`. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Bytes of unreceived messages queued before reading from the client pauses. Default 1 MiB. */
  receiveBuffer?: number;
  /** Bytes waiting to be written before `send*` waits for them to drain. Default 1 MiB. */
  sendBuffer?: number;
  /**
   * Bytes a subscriber may have waiting before it is closed with 1013 (Try Again Later), so one
   * slow subscriber never stalls a publish nor grows memory. Default 4 MiB.
   */
  publishBuffer?: number;
  /** The topic backplane. Default: in-process; `redisPubSub()` from `wsgate/redis` for many. */
  pubsub?: PubSubFactory;
  /**
   * Milliseconds the middleware and handler may take to accept or refuse; then the client gets
   * HTTP 503 and a late `accept()` throws `WebSocketDisconnect`. `false`: no limit. Default 10 000.
   */
  handshakeTimeout?: number | false;
  /**
   * Receives errors a handler threw after accepting, backplane errors, and upgrades refused with
   * 500 because Node.js does not look as the request path needs (`NodeInternalsError`).
   * Default: stderr.
   */
  onError?: (error: unknown) => void;
  /**
   * How long a process's presence entries outlive its last sign of life, in ms, when it dies
   * without removing them (default 15 000). Only a cross-process backplane uses it.
   */
  presenceTimeout?: number;
}

/** {@link WebSocketPluginOptions} with every default filled in. */
export interface ResolvedOptions {
  maxPayload: number;
  origins: OriginPolicy | undefined;
  heartbeat: Required<HeartbeatOptions> | false;
  perMessageDeflate: boolean | PerMessageDeflateOptions;
  receiveBuffer: number;
  sendBuffer: number;
  publishBuffer: number;
  pubsub: PubSubFactory;
  handshakeTimeout: number | false;
  onError: (error: unknown) => void;
  presenceTimeout: number;
}

const MiB = 1024 * 1024;

function logError(error: unknown): void {
  console.error('wsgate: a WebSocket handler failed after accept():', error);
}

function size(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`wsgate: option ${name} must be a non-negative number of bytes`);
  }
  return value;
}

function millis(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`wsgate: option ${name} must be a positive number of milliseconds`);
  }
  return value;
}

/** Fills in the defaults (the ones uvicorn uses, which users of Starlette know) and checks types. */
export function resolveOptions(options: WebSocketPluginOptions = {}): ResolvedOptions {
  const { origins, heartbeat = {}, onError = logError } = options;
  if (origins !== undefined && typeof origins !== 'function' && !Array.isArray(origins)) {
    throw new TypeError('wsgate: option origins must be an array of origins or a function');
  }
  if (typeof onError !== 'function')
    throw new TypeError('wsgate: option onError must be a function');
  return {
    maxPayload: size('maxPayload', options.maxPayload, 16 * MiB),
    origins,
    heartbeat: heartbeat && {
      interval: millis('heartbeat.interval', heartbeat.interval, 20_000),
      timeout: millis('heartbeat.timeout', heartbeat.timeout, 20_000),
    },
    perMessageDeflate: options.perMessageDeflate ?? false,
    receiveBuffer: size('receiveBuffer', options.receiveBuffer, MiB),
    sendBuffer: size('sendBuffer', options.sendBuffer, MiB),
    publishBuffer: size('publishBuffer', options.publishBuffer, 4 * MiB),
    pubsub: options.pubsub ?? inProcessPubSub(),
    handshakeTimeout:
      options.handshakeTimeout === false
        ? false
        : millis('handshakeTimeout', options.handshakeTimeout, 10_000),
    onError,
    presenceTimeout: millis('presenceTimeout', options.presenceTimeout, 15_000),
  };
}
