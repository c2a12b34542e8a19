import type { TopicMessage } from '../server/pubsub.js';

const BINARY = 1;

/**
 * Wire form of a message in one Redis payload: a flags byte, the length of the skipped
 * publisher's id and the id, then the data. Publishing costs one copy, whatever the audience.
 */
export function encode(message: TopicMessage): Buffer {
  const skip = message.skip ?? '';
  const head = Buffer.allocUnsafe(2 + skip.length);
  head[0] = message.binary ? BINARY : 0;
  head[1] = head.write(skip, 2, 'latin1');
  return Buffer.concat([head, message.data]);
}

export function decode(payload: Buffer): TopicMessage {
  const skipLength = payload[1] ?? 0;
  const message: TopicMessage = {
    data: payload.subarray(2 + skipLength),
    binary: ((payload[0] ?? 0) & BINARY) !== 0,
  };
  if (skipLength > 0) message.skip = payload.toString('latin1', 2, 2 + skipLength);
  return message;
}
