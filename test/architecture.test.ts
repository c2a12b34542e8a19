import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

// The arrows docs/architecture.md forbids, checked on every import of the source tree.

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

/** Each file's imports and re-exports: relative ones resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)[^'"]*?from\s+'([^']+)'/gms)) {
    const target = match[1] as string;
    found.push(
      target.startsWith('.')
        ? relative(root, resolve(root, dirname(file), target)).replace(/\.js$/, '.ts')
        : target,
    );
  }
  return found;
}

function offending(files: string[], forbidden: (target: string) => boolean): string[] {
  return files.flatMap((file) =>
    importsOf(file)
      .filter(forbidden)
      .map((target) => `${file} -> ${target}`),
  );
}

describe('architecture: the imports docs/architecture.md allows', () => {
  const lib = sources('lib');
  const express = sources('adapters/express');
  const koa = sources('adapters/koa');

  it('finds the source files and their imports', () => {
    expect(lib).to.include('lib/websocket.ts');
    expect(express).to.include('adapters/express/routes.ts');
    expect(importsOf('adapters/express/routes.ts')).to.include('lib/server/index.ts');
  });

  it('lib/ imports no adapter and no framework', () => {
    expect(
      offending(lib, (t) => t.startsWith('adapters/') || /^(express|koa|@koa\/router)$/.test(t)),
    ).to.deep.equal([]);
  });

  it('the core (lib/*.ts but the package entry) does no I/O: no lib/server, ws or node:net', () => {
    const core = lib.filter((file) => !file.includes('/', 4) && file !== 'lib/index.ts');
    expect(core).to.include('lib/websocket.ts');
    expect(
      offending(core, (t) => t.startsWith('lib/server/') || t === 'ws' || t === 'node:net'),
    ).to.deep.equal([]);
  });

  it('lib/testing imports only lib/ and lib/server/index.ts, and no other entry point imports it', () => {
    const testing = lib.filter((file) => file.startsWith('lib/testing/'));
    expect(testing).to.include('lib/testing/index.ts');
    const others = [...lib.filter((file) => !testing.includes(file)), ...express, ...koa];
    expect(offending(others, (t) => t.startsWith('lib/testing/'))).to.deep.equal([]);
    expect(
      offending(testing, (t) => t.startsWith('lib/server/') && t !== 'lib/server/index.ts'),
    ).to.deep.equal([]);
  });

  it('adapters import lib/ only through lib/server/index.ts, and never each other', () => {
    const adapters = { express, koa };
    for (const [name, files] of Object.entries(adapters)) {
      const others = Object.keys(adapters).filter((other) => other !== name);
      const forbidden = (target: string): boolean =>
        others.some((other) => target.startsWith(`adapters/${other}/`)) ||
        (target.startsWith('lib/') && target !== 'lib/server/index.ts');
      expect(offending(files, forbidden), name).to.deep.equal([]);
    }
  });
});
