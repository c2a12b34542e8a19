import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

describe('wsgate/koa types', function () {
  this.timeout(30_000);

  it('infer ctx.websocket, app.websocket and router.websocket (tsc --noEmit on a fixture)', async () => {
    const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
    const result = await run(process.execPath, [tsc, '-p', 'test/types/koa-tsconfig.json'], {
      cwd: root,
    }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).to.equal('');
    expect(result.code).to.equal(0);
  });
});
