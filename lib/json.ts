import { encodeText } from './utf8.js';

/** How JSON travels: as a text frame (the default) or as UTF-8 bytes in a binary frame. */
export type JsonMode = 'text' | 'binary';

/** Options of `receiveJson`, `sendJson`, `iterJson` and `publishJson`. */
export interface JsonOptions {
  mode?: JsonMode;
}

/** The mode an options object asks for; throws `TypeError` for anything but `'text'`/`'binary'`. */
export function jsonMode(options: JsonOptions | undefined): JsonMode {
  const mode = options?.mode ?? 'text';
  if (mode !== 'text' && mode !== 'binary') {
    throw new TypeError(`Invalid JSON mode ${JSON.stringify(mode)}: expected 'text' or 'binary'`);
  }
  return mode;
}

/** Serialises `value`, throwing `TypeError` for what JSON cannot represent (cycles, BigInt, undefined). */
export function encodeJson(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify returns undefined for undefined, functions and symbols.
  if (typeof text !== 'string') throw new TypeError(`Cannot encode ${typeof value} as JSON`);
  return text;
}

/** Parses a received message, rejecting invalid JSON with a `SyntaxError` that says so. */
export function decodeJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new SyntaxError(`Invalid JSON in WebSocket message: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** `value` as JSON text for a text frame, or as its UTF-8 bytes for a binary frame. */
export function encodeJsonAs(value: unknown, mode: JsonMode): string | Buffer {
  const text = encodeJson(value);
  return mode === 'text' ? text : encodeText(text);
}

/** Serialises a presence meta, rejecting with `TypeError` what JSON cannot represent, at any depth. */
export function encodeMeta(meta: unknown): string {
  const text = JSON.stringify(meta, (_name, value: unknown) => {
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new TypeError(`A presence meta cannot hold a ${typeof value}`);
    }
    return value;
  });
  if (typeof text !== 'string') throw new TypeError(`Cannot encode ${typeof meta} as JSON`);
  return text;
}
