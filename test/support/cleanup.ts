/**
 * What a test opened (servers, plugins, clients) is registered here as it is opened, and closed by
 * `cleanup()` in `afterEach`, newest first (clients before the servers they talk to), so mocha
 * exits by itself.
 */
import request from 'superwstest';

const steps: Array<() => unknown> = [];

/** Runs `step` at the next `cleanup()`; returns a function that unregisters it. */
export function onCleanup(step: () => unknown): () => void {
  steps.push(step);
  return () => {
    const index = steps.lastIndexOf(step);
    if (index !== -1) steps.splice(index, 1);
  };
}

/** Closes everything registered since the last call, newest first (for `afterEach`). */
export async function cleanup(): Promise<void> {
  request.closeAll();
  while (steps.length > 0) await steps.pop()?.();
}
