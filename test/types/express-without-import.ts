// Compiled on its own by test/express-types.test.ts, which expects exactly the two errors below:
// without importing `wsgate/express`, Express has no `.websocket()` (in the project-wide
// typecheck another file imports it, so there this file compiles).
import express from 'express';

const app = express();
app.websocket('/x', () => {});
express.Router().websocket('/x', () => {});
