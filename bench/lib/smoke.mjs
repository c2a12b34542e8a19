/**
 * The smoke check (`--smoke`, run by CI): every server starts and answers a text echo, a binary
 * echo, a handshake and a broadcast (and `publish` for wsgate), each with a server and load
 * generator of its own, so that one broken server does not fail the next. No figures.
 */
import { startLoadgen, startServer, stop } from './processes.mjs';

async function smokeOne(server, profiling) {
  const running = await startServer(server, profiling);
  const loadgen = await startLoadgen(profiling);
  try {
    const spec = {
      workload: 'smoke',
      url: `ws://127.0.0.1:${running.port}`,
      urls: running.urls,
      // A Redis row's clients are spread over its processes: /bc reaches only one process's.
      broadcastPaths: server.redis ? ['/pub'] : server.wsgate ? ['/bc', '/pub'] : ['/bc'],
      timeoutMs: 20_000,
    };
    const { result } = await loadgen.run(spec, running, false);
    return result.failures;
  } finally {
    await Promise.all([loadgen.stop(), stop(running.child)]);
  }
}

/** Checks every server in turn, printing a line for each; resolves with the exit code. */
export async function smoke(servers, profiling) {
  let failed = 0;
  for (const server of servers) {
    const started = Date.now();
    let failures;
    try {
      failures = await smokeOne(server, profiling);
    } catch (error) {
      failures = [String(error?.message ?? error)];
    }
    failed += failures.length ? 1 : 0;
    const status = failures.length ? `FAIL\n    ${failures.join('\n    ')}` : 'ok';
    console.log(`smoke ${server.label.padEnd(20)} ${status} (${Date.now() - started} ms)`);
  }
  console.log(failed ? `smoke: ${failed} server(s) failed` : 'smoke: every server answered');
  return failed ? 1 : 0;
}
