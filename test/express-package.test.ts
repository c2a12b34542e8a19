// `wsgate/express` as users get it: the built package through its exports map, in plain Node
// (no TypeScript loader), as ESM and through require(esm).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const built = new URL('../dist/adapters/express/index.js', import.meta.url);

/** The newest modification time of the .ts files under `dir`. */
function newest(dir: URL): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      latest = Math.max(latest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
    }
  }
  return latest;
}

const script = `
  import express from 'express';
  import { websocket } from 'wsgate/express';
  import { WebSocket } from 'ws';

  const app = express();
  const sockets = websocket();
  app.use(sockets);
  const router = express.Router();
  router.websocket('/hello/:name', async (socket, req) => {
    await socket.accept();
    await socket.sendText(req.params.name + ' at ' + socket.url.pathname);
  });
  app.use('/api', router);
  const server = app.listen(0, '127.0.0.1', () => {
    const client = new WebSocket('ws://127.0.0.1:' + server.address().port + '/api/hello/ann');
    client.on('message', (data) => console.log(String(data)));
    client.on('close', (code) => {
      console.log(code);
      sockets.close().then(() => server.close());
    });
  });
`;

describe('the built wsgate/express', function () {
  this.timeout(60_000);

  before(async () => {
    const sources = Math.max(
      newest(new URL('../lib/', import.meta.url)),
      newest(new URL('../adapters/express/', import.meta.url)),
    );
    if (!existsSync(built) || statSync(built).mtimeMs < sources) {
      await run('npm', ['run', 'build'], { cwd: root });
    }
  });

  it('runs from its exports map as plain Node ESM', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
    });
    expect(stdout.trim().split('\n')).to.deep.equal(['ann at /api/hello/ann', '1000']);
  });

  it('loads through require() (require(esm)) with .websocket() installed', async () => {
    const cjs = `
      const express = require('express');
      const { websocket } = require('wsgate/express');
      console.log(typeof websocket, typeof express().websocket, typeof express.Router().websocket);
    `;
    const { stdout } = await run(process.execPath, ['-e', cjs], { cwd: root });
    expect(stdout.trim()).to.equal('function function function');
  });
});
