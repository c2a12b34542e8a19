/** Throws `TypeError` for a topic name that is not a non-empty string. */
export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new TypeError('A topic must be a non-empty string');
  }
}
