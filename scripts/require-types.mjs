// Writes dist/adapters/koa's declarations again as .d.cts, for package.json's `require` condition.
// @koa/router declares its classes twice, for `require` (.d.ts) and `import` (.d.mts), and
// TypeScript keeps the two apart (they have private members); in a .d.cts, `@koa/router` resolves
// to the declarations a CommonJS consumer's own code gets. Same-folder imports are pointed at the
// .d.cts twins; imports of lib/ stay (its types name no @koa/router class).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const dir = new URL('../dist/adapters/koa/', import.meta.url);
for (const name of readdirSync(dir)) {
  if (!name.endsWith('.d.ts')) continue;
  const source = readFileSync(new URL(name, dir), 'utf8');
  const cjs = source.replace(/(?<=from '\.\/[\w-]+)\.js(?=')/g, '.cjs');
  writeFileSync(new URL(name.replace(/\.d\.ts$/, '.d.cts'), dir), cjs);
}
