// `express4` is Express 4 installed under an alias (devDependency `npm:express@^4`), for the
// Express 4 compatibility test. Its API as used there is the one @types/express describes.
declare module 'express4' {
  import express = require('express');
  export = express;
}
