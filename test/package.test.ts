import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('the built package', function () {
  this.timeout(60_000);

  before(async () => {
    if (!existsSync(new URL('../dist/lib/index.js', import.meta.url))) {
      await run('npm', ['run', 'build'], { cwd: root });
    }
  });

  it('exposes the core through its exports map, as plain Node ESM (no TypeScript loader)', async () => {
    const script = `
      const core = await import('wsgate');
      console.log(JSON.stringify({
        core: [typeof core.WebSocket, typeof core.WebSocketDisconnect, typeof core.WebSocketStateError,
               core.WebSocketState.CONNECTED],
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    expect(JSON.parse(stdout)).to.deep.equal({
      core: ['function', 'function', 'function', 'CONNECTED'],
    });
  });

  it('ships declarations next to every entry point', () => {
    for (const entry of ['lib/index.d.ts']) {
      expect(existsSync(new URL(`../dist/${entry}`, import.meta.url)), entry).to.equal(true);
    }
  });
});
