// The packed package as TypeScript and CommonJS users install it: README-style apps
// (test/consumers/) type-checked in temporary consumer projects, one per supported setup, and
// `require('wsgate/...')` from a CommonJS package. The projects link the frameworks, their types
// and TypeScript from this repository's node_modules, so nothing is downloaded.
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('consumers/', import.meta.url));

/** What a consumer installs next to wsgate (npm hoists their dependencies beside them). */
const installed = [
  'express',
  'koa',
  '@koa/router',
  '@types/express',
  '@types/koa',
  '@types/node',
  'typescript',
];

interface Setup {
  name: string;
  /** The consumer's package.json `type`: CommonJS when absent. */
  type?: 'module';
  compilerOptions: Record<string, string>;
}

const setups: Setup[] = [
  { name: 'nodenext-cjs', compilerOptions: { module: 'nodenext' } },
  { name: 'nodenext-esm', type: 'module', compilerOptions: { module: 'nodenext' } },
  { name: 'node20-cjs', compilerOptions: { module: 'node20' } },
  {
    name: 'bundler-esnext',
    type: 'module',
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
  },
  { name: 'bundler-preserve', type: 'module', compilerOptions: { module: 'preserve' } },
];

/** The `dependencies` of the package in `dir`. */
function dependencies(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return Object.keys(manifest.dependencies ?? {});
}

/** `names` and their dependencies, transitively, as npm hoisted them into node_modules. */
function hoisted(names: string[]): Set<string> {
  const found = new Set<string>();
  const queue = [...names];
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    const dir = join(root, 'node_modules', name);
    if (found.has(name) || !existsSync(join(dir, 'package.json'))) continue;
    found.add(name);
    queue.push(...dependencies(dir));
  }
  return found;
}

/** Runs `args` with this Node; resolves with the exit code and everything printed. */
async function node(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return run(process.execPath, args, { cwd }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? 1,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}

describe('the packed package in consumer projects', function () {
  this.timeout(60_000);
  let consumers: string;

  before(async () => {
    await run('npm', ['run', 'build'], { cwd: root });
    consumers = mkdtempSync(join(tmpdir(), 'wsgate-consumers-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', consumers], {
      cwd: root,
    });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const modules = join(consumers, 'node_modules');
    const wsgate = join(modules, 'wsgate');
    mkdirSync(wsgate, { recursive: true });
    await run('tar', ['-xzf', join(consumers, filename), '-C', wsgate, '--strip-components=1']);
    for (const name of hoisted([...installed, ...dependencies(wsgate)])) {
      mkdirSync(join(modules, name, '..'), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
    }
    for (const setup of setups) {
      const dir = join(consumers, setup.name);
      mkdirSync(dir);
      const manifest = { name: setup.name, private: true, ...(setup.type && { type: setup.type }) };
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          // `tsc --init`'s checks, but with ESM syntax in CommonJS files (no verbatimModuleSyntax).
          compilerOptions: {
            ...setup.compilerOptions,
            target: 'es2022',
            types: ['node'],
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            isolatedModules: true,
            skipLibCheck: true,
            noEmit: true,
          },
          files: ['express-app.ts', 'koa-app.ts'],
        }),
      );
      for (const file of ['express-app.ts', 'koa-app.ts']) {
        copyFileSync(join(fixtures, file), join(dir, file));
      }
    }
  });

  after(() => {
    if (consumers) rmSync(consumers, { recursive: true, force: true });
  });

  for (const setup of setups) {
    it(`type-checks the README's Express and Koa apps: ${setup.name}`, async () => {
      const dir = join(consumers, setup.name);
      const tsc = join(consumers, 'node_modules', 'typescript', 'bin', 'tsc');
      const result = await node([tsc, '-p', dir], dir);
      expect(result.output).to.equal('');
      expect(result.code).to.equal(0);
    });
  }

  it('loads wsgate/express and wsgate/koa with require() from a CommonJS package', async () => {
    const script = `
      const express = require('wsgate/express');
      const koa = require('wsgate/koa');
      const Router = require('@koa/router');
      console.log(JSON.stringify([
        typeof express.websocket, typeof koa.websocket, typeof koa.withWebSocket,
        typeof koa.withWebSocket(new Router()).websocket,
      ]));`;
    const result = await node(['-e', script], join(consumers, 'nodenext-cjs'));
    expect(result).to.deep.equal({
      code: 0,
      output: `${JSON.stringify(Array(4).fill('function'))}\n`,
    });
  });
});
