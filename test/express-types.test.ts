import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

/** Runs `tsc -p project` (no emit); resolves with its exit code and output. */
function typecheck(project: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsc, '-p', project, '--pretty', 'false'],
      { cwd: root },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe('wsgate/express types', function () {
  this.timeout(30_000);

  it('types app.websocket/router.websocket and infers the handler parameters (tsc --noEmit)', async () => {
    // The fixture asserts the inferred types and uses @ts-expect-error for wrong usages
    // (an unused @ts-expect-error is itself an error).
    const { code, output } = await typecheck('test/types/express-tsconfig.json');
    expect(output).to.equal('');
    expect(code).to.equal(0);
  });

  it('adds .websocket() only where wsgate/express is imported', async () => {
    const { code, output } = await typecheck('test/types/express-without-import-tsconfig.json');
    expect(code).to.not.equal(0);
    const errors = output.trim().split('\n');
    expect(errors).to.have.length(2);
    expect(errors[0]).to.match(
      /express-without-import\.ts\(7,5\): error TS2339: Property 'websocket' does not exist on type 'Express'/,
    );
    expect(errors[1]).to.match(
      /express-without-import\.ts\(8,18\): error TS2339: Property 'websocket' does not exist on type 'Router'/,
    );
  });
});
