/**
 * What tests print: everything written to stderr or through console.error/warn/trace, captured
 * either for one piece of code (`captureOutput`) or for a whole suite by test (`captureNoise`),
 * so a test can assert that something printed nothing, or exactly what it printed.
 */

import { expect } from 'chai';

type Sink = (line: string) => void;

/**
 * Routes console.error/warn/trace and stderr writes to `sink` (and, with `passThrough`, on to
 * where they went before) until the returned function is called.
 */
function intercept(sink: Sink, passThrough: boolean): () => void {
  const restores: Array<() => void> = [];
  let inConsole = false;
  for (const method of ['error', 'warn', 'trace'] as const) {
    const original = console[method];
    console[method] = (...args: unknown[]) => {
      sink(`console.${method}: ${args.map(String).join(' ')}`);
      if (!passThrough) return;
      inConsole = true;
      try {
        original.apply(console, args);
      } finally {
        inConsole = false;
      }
    };
    restores.push(() => {
      console[method] = original;
    });
  }
  const write = process.stderr.write;
  process.stderr.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    if (!inConsole) sink(`stderr: ${String(chunk)}`);
    if (!passThrough) {
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  } as typeof process.stderr.write;
  restores.push(() => {
    process.stderr.write = write;
  });
  return () => {
    for (const restore of restores.reverse()) restore();
  };
}

/**
 * Runs `run` with stderr and the console captured (not printed) and resolves with what it
 * printed, one entry a call: `console.error: …`, `stderr: …`.
 */
export async function captureOutput(run: () => unknown): Promise<string[]> {
  const printed: string[] = [];
  const restore = intercept((line) => printed.push(line), false);
  try {
    await run();
  } finally {
    restore();
  }
  return printed;
}

export interface Noise {
  /** console.error/warn/trace, stderr writes and process warnings, prefixed with the test. */
  readonly printed: string[];
  /** uncaughtException / unhandledRejection, prefixed with the test. */
  readonly uncaught: string[];
  /** What the current test printed or raised so far. */
  ofCurrentTest(): string[];
}

/**
 * Records everything written to stderr or the console, process warnings and uncaught errors
 * while a suite runs, by test, so the suite can assert that abuse printed nothing. Call it inside
 * a `describe`: it installs the capture in `before` and removes it in `after`.
 */
export function captureNoise(): Noise {
  const printed: string[] = [];
  const uncaught: string[] = [];
  const restores: Array<() => void> = [];
  let current = '(outside a test)';

  before(() => {
    restores.push(intercept((line) => printed.push(`[${current}] ${line}`), true));
    const onUncaught = (error: unknown): void => {
      uncaught.push(`[${current}] uncaughtException: ${String(error)}`);
    };
    const onRejection = (reason: unknown): void => {
      uncaught.push(`[${current}] unhandledRejection: ${String(reason)}`);
    };
    const onWarning = (warning: Error): void => {
      printed.push(`[${current}] process warning: ${warning.name}: ${warning.message}`);
    };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
    process.on('warning', onWarning);
    restores.push(() => {
      process.removeListener('uncaughtException', onUncaught);
      process.removeListener('unhandledRejection', onRejection);
      process.removeListener('warning', onWarning);
    });
  });

  after(() => {
    for (const restore of restores.splice(0).reverse()) restore();
  });

  beforeEach(function () {
    current = this.currentTest?.fullTitle() ?? '(unknown)';
  });

  return {
    printed,
    uncaught,
    ofCurrentTest() {
      const prefix = `[${current}]`;
      return [...printed, ...uncaught].filter((line) => line.startsWith(prefix));
    },
  };
}

/**
 * Declares the suite's last test (mocha runs a suite's own tests before its sub-suites, so call it
 * at the end of the `describe` that called `captureNoise()`): nothing was printed and no error
 * went uncaught while the suite ran.
 */
export function printedNothingInTheEnd(noise: Noise): void {
  describe('in the end', () => {
    it('printed nothing to stderr or the console, and raised no uncaught error', async () => {
      // Let what the last test left pending (a reset, a rejection) surface first.
      await new Promise((resolve) => setImmediate(resolve));
      expect({ uncaught: noise.uncaught, printed: noise.printed }).to.deep.equal({
        uncaught: [],
        printed: [],
      });
    });
  });
}
