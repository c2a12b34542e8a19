import type { IncomingHttpHeaders } from 'node:http';

/*
 * An open connection keeps strings of its upgrade request (its headers for `socket.headers`, its
 * target for `socket.url`), and Node's parser gives every request strings of its own: ten thousand
 * connections from one kind of browser hold ten thousand copies of its `User-Agent`, `Origin`,
 * `Host`, `Upgrade: websocket`... Here a string that usually repeats across connections is swapped
 * for the equal one an earlier connection kept, so those connections share one copy. Only the last
 * value seen is remembered, one per header name and one target, so what this holds is bounded
 * however many distinct values arrive; what differs per client (`Cookie`, `Authorization`,
 * `Sec-WebSocket-Key`, a query string) is not shared.
 */

const REPEATING = [
  'host',
  'connection',
  'upgrade',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'origin',
  'user-agent',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
] as const;

/** Where the last target is kept, after the last value of each header in `REPEATING`. */
const TARGET_SLOT = REPEATING.length;
const lastSeen: (string | undefined)[] = Array.from({ length: TARGET_SLOT + 1 });

/** `value`, or the equal string kept in `slot` from an earlier connection (then kept there). */
function shared(slot: number, value: string): string {
  const kept = lastSeen[slot];
  if (value === kept) return kept;
  lastSeen[slot] = value;
  return value;
}

/**
 * Replaces each repeating header value in `headers` with the equal string kept from an earlier
 * connection, if there is one (the values stay equal: only their storage is shared).
 */
export function shareRepeatedHeaders(headers: IncomingHttpHeaders): void {
  try {
    for (let i = 0; i < REPEATING.length; i++) {
      const name = REPEATING[i] as (typeof REPEATING)[number];
      const value = headers[name];
      if (typeof value === 'string') headers[name] = shared(i, value);
    }
  } catch {
    // Headers the application froze (or gave setters) keep their own strings.
  }
}

/**
 * `target` (a request target), or the equal string kept from the last request with the same. A
 * target with a query is left alone: a query is mostly per client (a token, an id), so it would
 * rarely be shared, and it should not be kept here once its connection is gone.
 */
export function sharedTarget(target: string | undefined): string | undefined {
  if (target === undefined || target.includes('?')) return target;
  return shared(TARGET_SLOT, target);
}
