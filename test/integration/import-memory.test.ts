import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeServiceContext } from '../../src/context.js';
import { uploadImport } from '../../src/imports/imports.service.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { createStaff } from '../helpers/staff.js';

/** Issue 14.1: a 200,000-row file is streamed, never held whole in memory. */
let ctx: TestContext;
let dir: string;
const ROWS = 200_000;

beforeAll(async () => {
  ctx = await startTestContext();
  dir = await mkdtemp(path.join(tmpdir(), 'assent-import-memory-'));
}, 60000);
afterAll(async () => {
  await ctx?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A Mailchimp-shaped export of `rows` members, written a line at a time. */
async function writeExport(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write(
    '"Email Address","First Name","Last Name","Address","Phone Number",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS\n',
  );
  for (let i = 0; i < rows; i++) {
    const line = `member${i}@example.net,First${i},"Last, ${i}","${i} Long Street  Some Town  Somewhere  AB1 2CD",+44 20 7946 ${String(i % 10000).padStart(4, '0')},2,"2019-03-14 10:22:31",,"2019-03-14 10:25:00",,,,,,,GB,,"2019-03-14 10:25:00",${i},e${i},"a note about this member that makes the row longer",\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

describe('memory while importing a large file', () => {
  it('stages and checks 200,000 rows with the memory of the process nearly flat', async () => {
    const file = path.join(dir, 'big.csv');
    await writeExport(file, ROWS);
    const size = (await stat(file)).size;
    const staffId = await createStaff(ctx, 'memory-admin@example.org', 'admin');
    const svc = makeServiceContext(ctx.config, ctx.db);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const started = Date.now();
    let id: number;
    try {
      id = await uploadImport(svc, staffId, { path: file, originalname: 'big.csv', size });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const growthMb = (peak - baseline) / (1024 * 1024);
    const imp = await ctx.db('imports').where({ id }).first('status', 'counts', 'rows_total');
    expect(imp).toMatchObject({ status: 'checked', rows_total: ROWS, counts: { new: ROWS, errors: 0 } });
    // The file is about 40 MB; held whole and parsed, it would take several times that.
    expect(size).toBeGreaterThan(35 * 1024 * 1024);
    expect(growthMb).toBeLessThan(100);
    process.stderr.write(
      `import memory: ${ROWS} rows, ${(size / 1048576).toFixed(1)} MB file, staged and checked in ${seconds.toFixed(1)} s, RSS grew ${growthMb.toFixed(1)} MB\n`,
    );
  }, 300000);
});
