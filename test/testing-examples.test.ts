// Runs the in-memory testing examples of README.md, docs/express.md and docs/koa.md
// (test/docs.test.ts checks the quotes are verbatim). Each is a mocha suite: importing it
// registers it.
import '../examples/express/testing.spec.js';
import '../examples/koa/testing.spec.js';
