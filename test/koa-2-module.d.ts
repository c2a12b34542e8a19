// `koa2` is Koa 2 installed under an alias (devDependency `npm:koa@^2`), for the Koa 2
// compatibility test. Its API as used there is the one @types/koa describes.
declare module 'koa2' {
  import Koa = require('koa');
  export = Koa;
}
