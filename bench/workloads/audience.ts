/**
 * Audience CSV export (C12): the topic's CSV through the real HTTP route, signed in as an admin,
 * against its ceiling, `COPY (the same query) TO STDOUT WITH CSV HEADER` read whole by a client
 * (the same members, the suppression check written as one equality NOT EXISTS per key). The
 * database is filled in SQL with 1,000,000 opted-in members (BENCH_QUICK: 50,000), 100 of them
 * suppressed and 2 undeliverable. Also measured: the growth of this process's RSS (it serves the
 * request) during each export, sampled every 20 ms.
 */
import http from 'node:http';
import { seedNewsletter, seedPolicyInForce } from '../seed.js';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { suppressAddress, suppressionKeys } from '../../src/shared/suppression.js';
import { insertOptedInMembers } from '../../test/helpers/fixtures.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { signInAdmin } from './admin-session.js';

const SECRET = 'bench-secret-key-0123456789abcdefghijklmnop';
const MiB = 1048576;

/** The ceiling: the audience query, well planned, each key's hash checked by its own NOT EXISTS. */
function ceilingSql(topicId: number, keyCount: number): string {
  const notSuppressed = Array.from(
    { length: keyCount },
    (_, i) => `AND NOT EXISTS (SELECT 1 FROM suppression_list s
       WHERE s.address_hash = encode(hmac(lower(btrim(m.email::text)), current_setting('assent.bench_key_${i + 1}'), 'sha256'), 'hex'))`,
  ).join('\n');
  return `COPY (SELECT m.id AS member_id, m.email::text AS email, m.name
    FROM consents c JOIN members m ON m.id = c.member_id
    WHERE c.topic_id = ${topicId} AND c.status = 'opted_in' AND m.status = 'active'
      AND m.email IS NOT NULL AND m.email_undeliverable_at IS NULL
      ${notSuppressed}) TO STDOUT WITH (FORMAT csv, HEADER)`;
}

/** Counts the lines and bytes of a stream. */
function counting(stream: NodeJS.ReadableStream): Promise<{ lines: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    let lines = 0;
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    });
    stream.on('end', () => resolve({ lines, bytes }));
    stream.on('error', reject);
  });
}

async function run(options: BenchOptions): Promise<WorkloadResult[]> {
  const total = options.quick ? 50_000 : 1_000_000;
  const logger = createLogger('warn');
  const database = await benchDatabase('audience', logger);
  const { db, url } = database;
  const notes: string[] = [];
  try {
    const tFill = performance.now();
    const policyId = await seedPolicyInForce(db);
    const topicId = await seedNewsletter(db, policyId, 'bench-news', 'Bench news');
    await insertOptedInMembers(db, { count: total, topicId, policyId, prefix: 'member', domain: 'bench.example' });
    const keys = suppressionKeys([SECRET]);
    for (let i = 1; i <= 100; i++) await suppressAddress(db, `member${i * 7}@bench.example`, keys);
    await db('members')
      .whereIn('email', ['member3@bench.example', 'member5@bench.example'])
      .update({ email_undeliverable_at: db.fn.now() });
    await db.raw('VACUUM ANALYZE');
    notes.push(
      `fill: ${total.toLocaleString('en-GB')} members with their ledger event and consent, in SQL, ${((performance.now() - tFill) / 1000).toFixed(1)} s`,
    );

    const config = loadConfig({
      NODE_ENV: 'test',
      BASE_URL: 'http://127.0.0.1',
      DATABASE_URL: url,
      SECRET_KEYS: SECRET,
      LOG_LEVEL: 'warn',
    });
    const sessionPool = new pg.Pool({ connectionString: url, max: 2 });
    const server = http.createServer(buildApp({ config, db, logger, sessionPool }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cookie = await signInAdmin(db, base, config.secretKeys);
    const copyClient = new pg.Client({ connectionString: url });
    await copyClient.connect();

    const ceiling = async () => {
      const t0 = performance.now();
      await copyClient.query('BEGIN');
      await copyClient.query(`SELECT ${keys.lookup.map((_, i) => `set_config('assent.bench_key_${i + 1}', $${i + 1}, true)`).join(', ')}`, [
        ...keys.lookup,
      ]);
      const { lines, bytes } = await counting(copyClient.query(copyTo(ceilingSql(topicId, keys.lookup.length))));
      await copyClient.query('COMMIT');
      return { rows: lines - 1, bytes, ms: performance.now() - t0 };
    };
    const app = async () => {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const t0 = performance.now();
      const { lines, bytes, status } = await new Promise<{ lines: number; bytes: number; status: number }>((resolve, reject) => {
        http
          .get(`${base}/admin/audiences/${topicId}/csv`, { headers: { cookie } }, (res) => {
            counting(res).then((c) => resolve({ ...c, status: res.statusCode ?? 0 }), reject);
          })
          .on('error', reject);
      });
      const ms = performance.now() - t0;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      if (status !== 200) throw new Error(`the export answered ${status}`);
      return { rows: lines - 1, bytes, ms, rssGrowth: peak - rssBefore };
    };

    const rounds: Round[] = [];
    let rssGrowth = 0;
    for (let i = 0; i < options.rounds; i++) {
      const c = await ceiling();
      const a = await app();
      if (a.rows !== c.rows) throw new Error(`the app exported ${a.rows} rows, COPY ${c.rows}`);
      if (i === 0)
        notes.push(
          `${a.rows.toLocaleString('en-GB')} rows each (${(a.bytes / MiB).toFixed(1)} MiB from the app, ${(c.bytes / MiB).toFixed(1)} MiB from COPY)`,
        );
      rssGrowth = Math.max(rssGrowth, a.rssGrowth);
      rounds.push({ ceiling: c.rows / (c.ms / 1000), app: a.rows / (a.ms / 1000) });
    }
    notes.push(
      `RSS growth of the serving process during an export: at most ${(rssGrowth / MiB).toFixed(0)} MiB (target < 50 MiB for 1,000,000 rows)`,
    );

    await copyClient.end();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await sessionPool.end();
    return [
      {
        workload: `audience CSV export, ${total.toLocaleString('en-GB')} members`,
        ceiling: 'COPY (same query) TO STDOUT, CSV',
        unit: 'rows/s',
        target: 0.7,
        rounds,
        notes,
      },
    ];
  } finally {
    await database.drop();
  }
}

export const workload: Workload = { name: 'audience', run };
