#!/usr/bin/env node
/**
 * Why Express requests cost more wherever they are touched, shown with V8's own checks: two
 * requests held at the same point of the same server share a hidden class (map) on a bare
 * `http` server and after `Object.setPrototypeOf` (what Express does to every req and res),
 * but every property *added* after that gives each request a map of its own, so each store
 * allocates a new map (and descriptor array) and every later property access misses its
 * inline cache. Express's router adds several (`req.next`, `req.baseUrl`, `req.params`, ...).
 *
 *   node --allow-natives-syntax bench/hidden-classes.mjs
 *
 * Prints, for each case, whether the two requests share a map (true) or not (false).
 */
import { createServer, get, IncomingMessage } from 'node:http';

const proto = Object.create(IncomingMessage.prototype);
let sameMap;
try {
  sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
} catch {
  console.error('usage: node --allow-natives-syntax bench/hidden-classes.mjs');
  process.exit(2);
}

const cases = {
  'bare http server': () => {},
  'after Object.setPrototypeOf(req, proto)': (req) => Object.setPrototypeOf(req, proto),
  'then a property added (req.added = 1)': (req) => {
    Object.setPrototypeOf(req, proto);
    req.added = 1;
  },
  'a property added, no setPrototypeOf': (req) => {
    req.added = 1;
  },
};

for (const [name, touch] of Object.entries(cases)) {
  const held = [];
  const server = createServer((req, res) => {
    held.push([req, res]);
    if (held.length < 2) return;
    for (const [r] of held) touch(r);
    console.log(`${name.padEnd(42)} ${sameMap(held[0][0], held[1][0])}`);
    for (const [, s] of held) s.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const once = () =>
    new Promise((resolve) =>
      get({ host: '127.0.0.1', port, path: '/' }, (r) => r.resume().on('end', resolve)),
    );
  await Promise.all([once(), once()]);
  await new Promise((resolve) => server.close(resolve));
}
