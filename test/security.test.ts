import type { IncomingMessage } from 'node:http';
import { expect } from 'chai';
import type { OriginPolicy } from '../lib/server/index.js';
import { cleanup } from './support/cleanup.js';
import { attempt, nextMessage } from './support/clients.js';
import {
  type App,
  type Framework,
  frameworks,
  type Gate,
  type Handler,
} from './support/frameworks.js';
import { captureNoise, printedNothingInTheEnd } from './support/output.js';

/*
 * Cross-site WebSocket hijacking: browsers attach cookies to cross-site WebSocket
 * handshakes and CORS does not apply, so a cookie-authenticated endpoint must check `Origin`. With
 * `origins`, a foreign origin is refused with 403 before any middleware runs — even with a valid
 * session cookie — on both adapters.
 */

const APP_ORIGIN = 'http://app.test';
const SESSION = 'session=s3cret';

const kUser = Symbol('user');
type AuthedRequest = IncomingMessage & { [kUser]?: string };

interface Outcome {
  /** 101, or the status of the HTTP refusal. */
  status: number;
  body: string;
  /** What the handler sent after accepting. */
  greeting?: string;
}

/** Opens a handshake with the given Origin and Cookie; resolves with what the client got. */
async function tryAccount(
  url: string,
  origin: string | undefined,
  cookie: string | undefined,
): Promise<Outcome> {
  const headers: Record<string, string> = cookie === undefined ? {} : { Cookie: cookie };
  const outcome = await attempt(url, [], origin === undefined ? { headers } : { headers, origin });
  if (!('client' in outcome)) return { status: outcome.status, body: outcome.body };
  const greeting = (await nextMessage(outcome.client)).data.toString();
  outcome.client.close();
  return { status: 101, body: '', greeting };
}

interface Served {
  app: App;
  /** How many times the session middleware ran. */
  sessionChecks: () => number;
  /** How many times the handler ran. */
  handlerRuns: () => number;
}

async function cookieApp(framework: Framework, origins: OriginPolicy): Promise<Served> {
  let sessionChecks = 0;
  let handlerRuns = 0;
  // The application's session middleware: no valid session cookie, no socket.
  const session: Gate = (req) => {
    sessionChecks++;
    const cookies = (req.headers.cookie ?? '').split(/;\s*/);
    if (!cookies.includes(SESSION)) return { status: 401, body: 'Log in first' };
    (req as AuthedRequest)[kUser] = 'ann';
    return undefined;
  };
  const handler: Handler = async (socket, req) => {
    handlerRuns++;
    await socket.accept();
    await socket.sendText(`hello ${(req as AuthedRequest)[kUser]}`);
    for await (const _ of socket.iterText()) {
      // until the client leaves
    }
  };
  const app = await framework.serve({ origins }, [{ path: '/account', gates: [session], handler }]);
  return { app, sessionChecks: () => sessionChecks, handlerRuns: () => handlerRuns };
}

interface OriginCase {
  origin: string | undefined;
  cookie: string | undefined;
  status: number;
  why: string;
}

const CASES: OriginCase[] = [
  { origin: APP_ORIGIN, cookie: SESSION, status: 101, why: 'the right origin with a session' },
  { origin: APP_ORIGIN, cookie: undefined, status: 401, why: 'the right origin, no cookie' },
  {
    origin: APP_ORIGIN,
    cookie: 'session=forged',
    status: 401,
    why: 'the right origin, bad cookie',
  },
  {
    origin: 'http://evil.test',
    cookie: SESSION,
    status: 403,
    why: 'a foreign origin with a session',
  },
  {
    origin: 'http://evil.test',
    cookie: undefined,
    status: 403,
    why: 'a foreign origin, no cookie',
  },
  { origin: undefined, cookie: SESSION, status: 403, why: 'no Origin (a list requires one)' },
  { origin: 'null', cookie: SESSION, status: 403, why: "Origin 'null' (sandboxed page)" },
  { origin: 'https://app.test', cookie: SESSION, status: 403, why: 'another scheme' },
  { origin: 'http://app.test:8080', cookie: SESSION, status: 403, why: 'another port' },
  { origin: 'http://app.test.evil.test', cookie: SESSION, status: 403, why: 'a longer host' },
  { origin: 'http://evil.test/http://app.test', cookie: SESSION, status: 403, why: 'a suffix' },
  { origin: 'http://APP.TEST', cookie: SESSION, status: 403, why: 'another spelling (exact)' },
];

describe('security: cross-site WebSocket hijacking', () => {
  const noise = captureNoise();
  afterEach(cleanup);

  for (const framework of frameworks) {
    describe(`wsgate/${framework.name} with origins: ['${APP_ORIGIN}'] and a session cookie`, () => {
      for (const testCase of CASES) {
        it(`${testCase.why} → ${testCase.status}`, async () => {
          const { app, sessionChecks, handlerRuns } = await cookieApp(framework, [APP_ORIGIN]);
          const outcome = await tryAccount(`${app.url}/account`, testCase.origin, testCase.cookie);
          expect(outcome.status, outcome.body).to.equal(testCase.status);
          if (testCase.status === 101) {
            expect(outcome.greeting).to.equal('hello ann');
            expect([sessionChecks(), handlerRuns()]).to.deep.equal([1, 1]);
          } else if (testCase.status === 403) {
            expect(outcome.body).to.equal('Origin not allowed');
            // Refused before the application's middleware: a foreign page learns nothing.
            expect([sessionChecks(), handlerRuns()], 'middleware / handler runs').to.deep.equal([
              0, 0,
            ]);
          } else {
            expect(outcome.body).to.equal('Log in first');
            expect([sessionChecks(), handlerRuns()]).to.deep.equal([1, 0]);
          }
          expect(app.onErrors).to.deep.equal([]);
          expect(app.frameworkErrors).to.deep.equal([]);
        });
      }

      it('a same-origin predicate refuses foreign origins even with a session', async () => {
        const sameOrigin: OriginPolicy = (origin, req) => origin === `http://${req.headers.host}`;
        const { app, sessionChecks } = await cookieApp(framework, sameOrigin);
        const own = app.http;
        expect((await tryAccount(`${app.url}/account`, own, SESSION)).status).to.equal(101);
        expect((await tryAccount(`${app.url}/account`, own, undefined)).status).to.equal(401);
        expect((await tryAccount(`${app.url}/account`, APP_ORIGIN, SESSION)).status).to.equal(403);
        expect((await tryAccount(`${app.url}/account`, undefined, SESSION)).status).to.equal(403);
        expect(sessionChecks()).to.equal(2);
      });

      it('without origins, a foreign page with the cookie gets in (why the option matters)', async () => {
        const { app } = await cookieApp(framework, () => true);
        const outcome = await tryAccount(`${app.url}/account`, 'http://evil.test', SESSION);
        expect([outcome.status, outcome.greeting]).to.deep.equal([101, 'hello ann']);
      });
    });
  }

  printedNothingInTheEnd(noise);
});
