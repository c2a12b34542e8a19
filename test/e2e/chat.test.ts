// The chat demo in a real browser: Debian's Chromium driven by playwright-core
// (`apt-get install chromium`; `npm run test:e2e`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { type Demo, start } from '../../demo/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where the screenshot of a two-person chat goes (not part of the repository). */
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? tmpdir();

for (const backend of ['express', 'koa'] as const) {
  describe(`the chat demo in Chromium (${backend})`, function () {
    this.timeout(60_000);
    let demo: Demo;
    let profile: string;
    let browser: BrowserContext;

    before(async () => {
      demo = await start({ port: 0, host: '127.0.0.1', koa: backend === 'koa', redisUrl: '' });
      profile = await mkdtemp(path.join(tmpdir(), 'wsgate-e2e-'));
      // A persistent context is how playwright takes a fresh --user-data-dir of our own.
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width: 1100, height: 720 },
      });
    });

    after(async () => {
      await browser?.close();
      if (profile) await rm(profile, { recursive: true, force: true });
      await demo?.close();
    });

    let pageErrors: string[] = [];

    afterEach(async () => {
      for (const page of browser.pages()) await page.close();
      expect(pageErrors, 'uncaught errors in the page').to.deep.equal([]);
      pageErrors = [];
    });

    async function open(): Promise<Page> {
      const page = await browser.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`${demo.url}/?room=general`);
      return page;
    }

    async function join(page: Page, name: string): Promise<void> {
      await page.fill('#name', name);
      await page.click('#join-button');
      await page.locator('#room-view').waitFor({ state: 'visible' });
      await expectText(page, '#status-text', /^Connected · worker \d+$/);
    }

    async function expectText(page: Page, selector: string, expected: string | RegExp) {
      const locator = page.locator(selector);
      const deadline = Date.now() + 10_000;
      let text = await locator.textContent();
      while (!(typeof expected === 'string' ? text === expected : expected.test(text ?? ''))) {
        if (Date.now() > deadline) {
          throw new Error(`${selector}: expected ${expected}, last saw ${JSON.stringify(text)}`);
        }
        await page.waitForTimeout(25);
        text = await locator.textContent();
      }
    }

    async function say(page: Page, text: string): Promise<void> {
      await page.fill('#text', text);
      await page.press('#text', 'Enter');
    }

    const bubbles = (page: Page) => page.locator('#messages .bubble').allTextContents();

    it('lets two people chat in a room, with live presence and a leave notice', async () => {
      const ann = await open();
      await join(ann, 'Ann');
      await expectText(ann, '#presence-count', '1');
      await expectText(ann, '#room-name', 'general');

      const bob = await open();
      await join(bob, 'Bob');
      await expectText(bob, '#presence-count', '2');
      await expectText(ann, '#presence-count', '2');
      await expectText(ann, '#people', 'Ann, Bob');
      await expectText(ann, '#messages .notice', /^Bob joined · /);

      await say(ann, 'Hi Bob! Is the handshake done yet?');
      await expectText(
        bob,
        '#messages .msg:last-child .bubble',
        'Hi Bob! Is the handshake done yet?',
      );
      await expectText(bob, '#messages .msg:last-child .author', 'Ann');
      await say(bob, 'Done: my name passed the middleware, then accept().');
      await say(bob, 'Messages are JSON, rooms are topics.');
      await expectText(
        ann,
        '#messages .msg:last-child .bubble',
        'Messages are JSON, rooms are topics.',
      );
      await say(ann, 'Nice, and the count up there is live.');
      for (const page of [ann, bob]) {
        await expectText(
          page,
          '#messages .msg:last-child .bubble',
          'Nice, and the count up there is live.',
        );
      }

      const expected = [
        'Hi Bob! Is the handshake done yet?',
        'Done: my name passed the middleware, then accept().',
        'Messages are JSON, rooms are topics.',
        'Nice, and the count up there is live.',
      ];
      expect(await bubbles(ann)).to.deep.equal(expected);
      expect(await bubbles(bob)).to.deep.equal(expected);
      // The sender's own messages are on the right, marked as "You".
      expect(await ann.locator('#messages .msg.mine').count()).to.equal(2);
      expect(await bob.locator('#messages .msg.mine').count()).to.equal(2);
      await expectText(ann, '#rooms .room.active .count', '2');

      if (backend === 'express') {
        const file = path.join(SCREENSHOT_DIR, 'wsgate-chat.png');
        await ann.screenshot({ path: file });
      }

      await bob.close();
      await expectText(ann, '#presence-count', '1');
      await expectText(ann, '#messages li:last-child', /^Bob left · /);
      await expectText(ann, '#people', 'Ann');
    });

    it('shows a refused handshake (no name) as an error in the page', async () => {
      const page = await open();
      await page.fill('#name', '');
      await page.click('#join-button');
      await page.locator('#banner').waitFor({ state: 'visible' });
      await expectText(
        page,
        '#banner-text',
        /^The server refused the connection \(HTTP 400\): A name is required/,
      );
      expect(await page.locator('#room-view').isVisible()).to.equal(false);
      expect(await page.locator('#join').isVisible()).to.equal(true);
      await expectText(page, '#status-text', 'Offline');

      // Then joining with a name works and clears the error.
      await join(page, 'Cy');
      expect(await page.locator('#banner').isVisible()).to.equal(false);
    });

    it('switches rooms and leaves cleanly', async () => {
      const ann = await open();
      await join(ann, 'Ann');
      const bob = await open();
      await join(bob, 'Bob');
      await expectText(ann, '#presence-count', '2');

      await bob.click('#rooms .room[data-room="random"]');
      await expectText(bob, '#room-name', 'random');
      await expectText(bob, '#presence-count', '1');
      await expectText(ann, '#presence-count', '1');

      await bob.click('#leave');
      await bob.locator('#join').waitFor({ state: 'visible' });
      await expectText(bob, '#status-text', 'Offline');
      expect(await bob.locator('#banner').isVisible()).to.equal(false);
    });
  });
}
