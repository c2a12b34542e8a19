/**
 * Records everything written to stderr or the console, process warnings and uncaught errors
 * while a suite runs, by test, so the suite can assert that abuse printed nothing. Call
 * `captureNoise()` inside a `describe`: it installs the capture in `before` and removes it in
 * `after`.
 */

export interface Noise {
  /** console.error/warn/trace, stderr writes and process warnings, prefixed with the test. */
  readonly printed: string[];
  /** uncaughtException / unhandledRejection, prefixed with the test. */
  readonly uncaught: string[];
  /** What the current test printed or raised so far. */
  ofCurrentTest(): string[];
}

export function captureNoise(): Noise {
  const printed: string[] = [];
  const uncaught: string[] = [];
  const restores: Array<() => void> = [];
  let current = '(outside a test)';

  before(() => {
    let inConsole = false;
    for (const method of ['error', 'warn', 'trace'] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        printed.push(`[${current}] console.${method}: ${args.map(String).join(' ')}`);
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
      if (!inConsole) printed.push(`[${current}] stderr: ${String(chunk)}`);
      return (write as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    } as typeof process.stderr.write;
    restores.push(() => {
      process.stderr.write = write;
    });
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
