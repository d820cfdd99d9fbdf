import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readHead, stageRows, stageRowsCarefully, stageWithCopy } from '../../src/imports/csv-file.js';
import { runInviteRound } from '../../src/imports/apply.service.js';
import { insertImport } from '../../src/imports/imports.repository.js';
import { makeServiceContext } from '../../src/context.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { twoRunsSideBySide } from '../helpers/jobs.js';
import { createStaff } from '../helpers/staff.js';

/**
 * Issue 14.5: a regular file is staged by PostgreSQL's own CSV reader (COPY); anything else by
 * csv-parse. Whichever reads it, the staged rows must be the same. And the worker's side of an
 * "ask them" import without a worker running: its rounds of invitations, called here directly.
 */
let ctx: TestContext;
let dir: string;
let staffId: string;

beforeAll(async () => {
  ctx = await startTestContext();
  dir = await mkdtemp(path.join(tmpdir(), 'assent-staging-'));
  staffId = await createStaff(ctx, 'staging-admin@example.org', 'admin');
});
afterAll(async () => {
  await ctx.close();
  await rm(dir, { recursive: true, force: true });
});

async function stagedBoth(name: string, content: string | Buffer) {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const head = await readHead(file);
  // Which reader takes it: COPY answers -1 for a file it leaves to csv-parse, having staged nothing.
  const probe = await insertImport(ctx.db, { staff_user_id: staffId, file_name: name, format: 'plain', headers: head.headers });
  const reader = (await stageWithCopy(ctx.db, probe, file, head, 10_000)) >= 0 ? 'copy' : 'careful';
  if (reader === 'careful') expect(await ctx.db('import_rows').where({ import_id: probe })).toEqual([]);
  const stage = async (how: 'either' | 'careful') => {
    const id = await insertImport(ctx.db, { staff_user_id: staffId, file_name: name, format: 'plain', headers: head.headers });
    const n =
      how === 'either'
        ? await stageRows(ctx.db, id, file, head, 10_000)
        : await stageRowsCarefully(ctx.db, id, file, head.delimiter, 10_000);
    const rows = await ctx.db('import_rows').where({ import_id: id }).orderBy('row_no').select('row_no', 'fields');
    return { n, rows };
  };
  return { reader, either: await stage('either'), careful: await stage('careful') };
}

describe('staging a file', () => {
  it.each([
    ['a plain comma sheet', 'copy', 'email,name\nada@example.org,Ada\nbob@example.org,"Bob, Jr."\n'],
    [
      'semicolons, a BOM, CRLF, quoted line breaks and quotes',
      'copy',
      '\uFEFFemail;name;address\r\nada@example.org;"Ada ""A"" L";"1 Street\r\nTown"\r\nbob@example.org;;""\r\n',
    ],
    ['a row short of fields', 'careful', 'email,name,phone\nada@example.org,Ada\nbob@example.org,Bob,123\n'],
    ['a blank line in the middle', 'careful', 'email,name\nada@example.org,Ada\n\nbob@example.org,Bob\n'],
    ['a quoted field holding a line that is only \\.', 'careful', 'email,name\nada@example.org,"one\n\\.\ntwo"\nbob@example.org,Bob\n'],
    // (A NUL in the first 64 KiB makes the upload refused as binary; later, the check refuses the row.)
    [
      'a NUL in a field past the first 64 KiB',
      'careful',
      `email,name\n${'a@example.org,A\n'.repeat(5000)}ada@example.org,A\u0000da\nbob@example.org,Bob\n`,
    ],
    ['no line break at the end', 'copy', 'email,name\nada@example.org,Ada\nbob@example.org,Bob'],
  ])('%s: read by %s, the same rows, numbered as the sheet', async (_what, expected, content) => {
    const { reader, either, careful } = await stagedBoth('sheet.csv', content);
    expect(reader).toBe(expected);
    expect(either).toEqual(careful);
    expect(either.n).toBe(careful.rows.length);
    expect(either.rows.at(-1)!.fields[0]).toBe('bob@example.org');
  });

  it('a quoted field holding a line that is only \\. keeps every row after it', async () => {
    const { either } = await stagedBoth(
      'marker.csv',
      'email,name\nada@example.org,"one\n\\.\ntwo"\nbob@example.org,Bob\ncy@example.org,Cy\n',
    );
    expect(either.rows.map((r) => r.fields[0])).toEqual(['ada@example.org', 'bob@example.org', 'cy@example.org']);
    expect(either.rows[0]!.fields[1]).toBe('one\n\\.\ntwo');
  });
});

describe('rounds of invitations', () => {
  it('a round woken while another of the same import runs does nothing; the running one keeps the window', async () => {
    // 20 a second: the release window (20) is what bounds a round, not the second's slots.
    const svc = makeServiceContext({ ...ctx.config, sendRate: { ...ctx.config.sendRate, perSecond: 20 } }, ctx.db);
    const id = await insertImport(ctx.db, { staff_user_id: staffId, file_name: 'ask.csv', format: 'plain', headers: ['email'] });
    await ctx.db('imports').where({ id }).update({ status: 'applying', mode: 'ask', started_at: ctx.db.fn.now() });
    await ctx.db('import_invitations').insert(Array.from({ length: 30 }, (_, i) => ({ import_id: id, email: `invited${i}@example.net` })));
    // Holding the import's row stops the first round at its start; a wake meanwhile (an apply
    // batch's) makes a second round's job, which starts while the first is open.
    const hold = await ctx.db.transaction();
    await hold('imports').where({ id }).forUpdate().first('id');
    const [a, b] = await twoRunsSideBySide(ctx.db, hold, '%"imports"%', () => runInviteRound(svc, id), 'round');
    expect(a).toBe('20 mailed');
    expect(b).toBe('another round is running');
    const mailed = await ctx.db('import_invitations').where({ import_id: id }).whereNotNull('mailed_at').pluck('id');
    expect(mailed).toHaveLength(20);
  });
});
