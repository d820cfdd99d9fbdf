import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../../src/config.js';
import { makeServiceContext } from '../../src/context.js';
import { runApplyBatch } from '../../src/imports/apply.service.js';
import { saveMapping, startImport, uploadImport } from '../../src/imports/imports.service.js';
import { createLogger } from '../../src/shared/logger.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';

/**
 * Importing a list (issue 14.5): a Mailchimp-shaped export of N rows imported in evidence mode —
 * upload staged with COPY, the dry run, every batch applied (members, ledger events, consents) —
 * next to a plain COPY FROM of the very same file into a table of text columns, in the same run,
 * alternating. The target is an import at 30 % or more of COPY's rows per second.
 */
const HEADER =
  '"Email Address","First Name","Last Name","Address","Phone Number",MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS';

async function writeExport(file: string, rows: number, prefix: string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${HEADER}\n`);
  for (let i = 0; i < rows; i++) {
    const line = `${prefix}${i}@example.net,First${i},"Last, ${i}","${i} Long Street  Some Town  AB1 2CD",+44 20 7946 ${String(i % 10000).padStart(4, '0')},2,"2019-03-14 10:22:31",,"2019-03-14 10:25:00",,,,,,,GB,,"2019-03-14 10:25:00",${i},e${i},,\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export const importWorkload: Workload = {
  name: 'import',
  async run(options: BenchOptions): Promise<WorkloadResult[]> {
    const rows = Number(process.env.BENCH_IMPORT_ROWS ?? (options.quick ? 10_000 : 100_000));
    const logger = createLogger('warn');
    const database = await benchDatabase('import', logger);
    const { db, url } = database;
    const dir = await mkdtemp(path.join(tmpdir(), 'assent-bench-import-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: url,
      SECRET_KEYS: 'bench-secret-key-0123456789abcdefghijklmnop',
      DATA_DIR: dir,
    });
    const svc = makeServiceContext(config, db);
    const notes: string[] = [];
    try {
      const [policy] = (await db('policy_versions')
        .insert({
          version: '1.0',
          title: 'Privacy',
          body: 'x',
          published_at: db.raw(`now() - interval '30 days'`),
          effective_at: db.raw(`now() - interval '23 days'`),
        })
        .returning('id')) as { id: number }[];
      const [topic] = (await db('topics')
        .insert({
          slug: 'news',
          name: 'News',
          description: 'News',
          kind: 'newsletter',
          channel: 'email',
          introduced_in_policy_version_id: policy!.id,
        })
        .returning('id')) as { id: number }[];
      const [staff] = (await db('staff_users')
        .insert({ email: 'bench-admin@example.org', name: 'Bench', role: 'admin', password_hash: 'x' })
        .returning('id')) as { id: string }[];
      await db.raw(`CREATE UNLOGGED TABLE copy_target (${Array.from({ length: 22 }, (_, i) => `c${i} text`).join(', ')})`);
      const rounds: Round[] = [];
      for (let round = 0; round < options.rounds; round++) {
        const file = path.join(dir, `export-${round}.csv`);
        await writeExport(file, rows, `r${round}m`);
        const size = (await stat(file)).size;

        const client = (await db.client.acquireConnection()) as pg.PoolClient;
        const c0 = performance.now();
        try {
          await pipeline(createReadStream(file), client.query(copyFrom(`COPY copy_target FROM STDIN (FORMAT csv, HEADER true)`)));
        } finally {
          await db.client.releaseConnection(client);
        }
        const copySeconds = (performance.now() - c0) / 1000;
        await db.raw('TRUNCATE copy_target');

        const a0 = performance.now();
        const id = await uploadImport(svc, staff!.id, { path: file, originalname: 'export.csv', size });
        const staged = performance.now();
        const m = ((await db('imports').where({ id }).first('mapping')) as { mapping: Record<string, number> }).mapping;
        await saveMapping(svc, staff!.id, id, {
          ...Object.fromEntries(
            Object.entries(m)
              .filter(([k]) => k !== 'topics')
              .map(([k, v]) => [k, String(v)]),
          ),
          [`topic_${topic!.id}`]: 'all',
        });
        const checked = performance.now();
        await startImport(svc, staff!.id, id, {
          mode: 'evidence',
          evidence_where: 'bench',
          evidence_collected_on: '2019',
          evidence_reference: 'BENCH',
        });
        let after = 0;
        for (;;) {
          const r = await runApplyBatch(svc, { importId: id, after });
          if (r === 'finished') break;
          after = ((await db('imports').where({ id }).first('applied_upto')) as { applied_upto: number }).applied_upto;
        }
        const appSeconds = (performance.now() - a0) / 1000;
        const created = ((await db('imports').where({ id }).first('members_created')) as { members_created: number }).members_created;
        const events = Number(((await db('consent_ledger').where({ import_id: id }).count('* as n')) as { n: number }[])[0]!.n);
        if (created !== rows || events !== rows) throw new Error(`round ${round}: ${created} members, ${events} events for ${rows} rows`);
        rounds.push({ ceiling: rows / copySeconds, app: rows / appSeconds });
        notes.push(
          `round ${round + 1}: ${(size / 1048576).toFixed(1)} MB; COPY ${copySeconds.toFixed(2)} s; import ${appSeconds.toFixed(2)} s (upload and stage ${((staged - a0) / 1000).toFixed(2)} s, mapping and check ${((checked - staged) / 1000).toFixed(2)} s, apply ${((performance.now() - checked) / 1000).toFixed(2)} s); ${created.toLocaleString('en-GB')} members and ledger events, checked`,
        );
      }
      return [
        {
          workload: `import ${rows.toLocaleString('en-GB')} rows, evidence mode`,
          ceiling: 'plain COPY FROM of the same file',
          unit: 'rows/s',
          target: 0.3,
          rounds,
          notes,
        },
      ];
    } finally {
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};
