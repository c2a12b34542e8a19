import { expect } from 'chai';
import { decodeText, encodeText } from '../lib/utf8.js';

// lib/utf8.ts takes a shortcut for long ASCII text; whatever the length and the characters, its
// answer must be Node's own UTF-8.

/** Lengths on both sides of the two limits, and long text. */
const LENGTHS = [0, 1, 63, 511, 512, 513, 4095, 4096, 4097, 65536];

/** Text of `length` characters, mostly ASCII, with `odd` (if any) at the end. */
function textOf(length: number, odd = ''): string {
  return 'a{"k":1}\n'.repeat(Math.ceil(length / 9)).slice(0, length - odd.length) + odd;
}

describe('UTF-8 text (lib/utf8.ts)', () => {
  for (const [name, odd] of [
    ['ASCII', ''],
    // A one-byte string in V8, but two bytes in UTF-8: Latin-1 would be wrong here.
    ['a Latin-1 character', 'é'],
    ['a character beyond U+FFFF', '😀'],
    ['a lone surrogate (U+FFFD, as Node encodes it)', '\uD800'],
  ] as const) {
    it(`encodes text with ${name} as Node's UTF-8, at every length`, () => {
      for (const length of LENGTHS) {
        if (length < odd.length) continue;
        const text = textOf(length, odd);
        expect(encodeText(text).equals(Buffer.from(text, 'utf8')), `${length}`).to.equal(true);
      }
    });
  }

  for (const [name, odd] of [
    ['ASCII', Buffer.alloc(0)],
    ['a two-byte sequence', Buffer.from('é')],
    ['a four-byte sequence', Buffer.from('😀')],
    ['an invalid byte (U+FFFD)', Buffer.of(0xff)],
    ['a sequence cut short (U+FFFD)', Buffer.of(0xe2, 0x82)],
  ] as const) {
    it(`decodes bytes with ${name} as Node's UTF-8, at every length`, () => {
      for (const length of LENGTHS) {
        if (length < odd.length) continue;
        const bytes = Buffer.concat([Buffer.from(textOf(length - odd.length)), odd]);
        expect(decodeText(bytes), `${length}`).to.equal(bytes.toString('utf8'));
      }
    });
  }
});
