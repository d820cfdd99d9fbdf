import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

/**
 * The README's "What survives what" table says which test proves each row, by file and full
 * title: a renamed or deleted test must not leave a row pointing at nothing.
 */
function rows(): string[][] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('## What survives what');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| what happens') && !l.startsWith('| ---'))
    .map((l) => l.slice(2, -2).split(' | '));
}

/** Each quoted title with the file named last before it in the cell. */
function citations(cell: string): { file: string; title: string }[] {
  const out: { file: string; title: string }[] = [];
  let file: string | undefined;
  for (const m of cell.matchAll(/`(test\/[^`]+\.ts)`|"([^"]+)"/g)) {
    if (m[1]) file = m[1];
    else if (file && m[2]) out.push({ file, title: m[2] });
  }
  return out;
}

function testTitles(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/\bit\(\s*'((?:[^'\\]|\\.)*)'/g)].map((m) => (m[1] ?? '').replace(/\\'/g, "'"));
}

describe('the README’s What survives what table', () => {
  it('every row names at least one test by file and its full title, and each exists as written', () => {
    const table = rows();
    expect(table.length).toBeGreaterThanOrEqual(10);
    const missing: string[] = [];
    for (const cells of table) {
      const cited = citations(cells.at(-1) ?? '');
      if (cited.length === 0) missing.push(`no test named for: ${cells[0]}`);
      for (const { file, title } of cited) {
        if (!existsSync(file)) missing.push(`${file} does not exist`);
        else if (!testTitles(file).includes(title)) missing.push(`${file} has no test titled "${title}"`);
      }
    }
    expect(missing).toEqual([]);
  });
});
