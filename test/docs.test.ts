// The docs cannot drift from the code: every TypeScript block in README.md and docs/*.md is a
// region of a file under examples/ (quoted verbatim, with the repo-relative imports spelled as
// the published package names), and those examples are run by the tests (examples.test.ts and
// the adapters' docs tests).

import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'chai';

const root = new URL('..', import.meta.url);
const MARKER = /<!-- example: (\S+)#(\S+) -->\n```(?:ts|js)\n([\s\S]*?)^```$/gm;

/** The text between `// #region name` and `// #endregion` in `file`. */
async function region(file: string, name: string): Promise<string> {
  const text = await readFile(new URL(file, root), 'utf8');
  const opening = `// #region ${name}\n`;
  const start = text.indexOf(opening);
  expect(start, `region ${name} in ${file}`).to.not.equal(-1);
  const end = text.indexOf('// #endregion', start);
  expect(end, `end of region ${name} in ${file}`).to.not.equal(-1);
  return text.slice(start + opening.length, end);
}

/** How the docs spell imports that the examples make relative to the repository. */
function asPublished(code: string): string {
  return (
    code
      .replace(/'(?:\.\.\/)+adapters\/(express|koa)\/index\.js'/g, "'wsgate/$1'")
      .replace(/'(?:\.\.\/)+lib\/redis\/index\.js'/g, "'wsgate/redis'")
      .replace(/'(?:\.\.\/)+lib\/index\.js'/g, "'wsgate'")
      // The repo installs Express 4 under an alias, for the peers that need it.
      .replaceAll("'express4'", "'express'")
  );
}

const documents = [
  'README.md',
  ...(await readdir(new URL('docs/', root)))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('documentation code blocks', () => {
  for (const document of documents) {
    it(`${document}: every ts block is an example region, verbatim`, async () => {
      const text = await readFile(new URL(document, root), 'utf8');
      const tsFences = text.match(/^```(ts|typescript|js|javascript)$/gm) ?? [];
      const blocks = [...text.matchAll(MARKER)];
      expect(blocks.length, 'blocks tied to an example').to.equal(tsFences.length);
      for (const [, file = '', name = '', code] of blocks) {
        expect(code, `${document}: ${file}#${name}`).to.equal(
          asPublished(await region(file, name)),
        );
      }
    });
  }
});
