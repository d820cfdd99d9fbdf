/**
 * Audience export (C12, issue 12): a topic's audience with each member's two signed links, through
 * the real HTTP routes — the staff CSV (signed in as an admin) and the REST API's NDJSON (an API
 * key) — each against its ceiling, `COPY (the same statement) TO STDOUT` read whole by a bare
 * client. The database is filled in SQL with 1,000,000 opted-in members (BENCH_QUICK: 50,000), 100
 * of them suppressed and 2 undeliverable. Also measured: the growth of this process's RSS (it
 * serves the request) during each export, sampled every 20 ms, and what the links cost: a COPY of
 * the audience without them (the suppression check written by hand, one equality NOT EXISTS per key).
 */
import http from 'node:http';
import { seedNewsletter, seedPolicyInForce } from '../seed.js';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { audienceCopy } from '../../src/consent/audience.repository.js';
import { makeServiceContext } from '../../src/context.js';
import type { CopyCsv } from '../../src/exports/copy.js';
import { createApiKey } from '../../src/integrations/api-keys.service.js';
import { Links } from '../../src/shared/links.js';
import { createLogger } from '../../src/shared/logger.js';
import { suppressAddress, suppressionKeys } from '../../src/shared/suppression.js';
import { insertOptedInMembers } from '../../test/helpers/fixtures.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { signInAdmin } from './admin-session.js';

const SECRET = 'bench-secret-key-0123456789abcdefghijklmnop';
const MiB = 1048576;

/** The audience without links, written by hand, each key's hash checked by its own NOT EXISTS. */
function withoutLinksSql(topicId: number, keyCount: number): string {
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
    // The fill writes what the app would (member, ledger event, current consent) without firing
    // the tables' triggers (the change feed's rows, the ledger checks): a third of the time for
    // 1,000,000 members, and nothing the audience query reads. Needs a superuser, as the bench's
    // databases are; anyone else fills with the triggers.
    await db.transaction(async (trx) => {
      const { rows } = await trx.raw<{ rows: { superuser: boolean }[] }>(
        'SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
      );
      if (rows[0]?.superuser) await trx.raw('SET LOCAL session_replication_role = replica');
      await insertOptedInMembers(trx, { count: total, topicId, policyId, prefix: 'member', domain: 'bench.example' });
    });
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

    const svc = makeServiceContext(config, db);
    const staff = (await db('staff_users').first('id')) as { id: string };
    const apiKey = (await createApiKey(svc, staff.id, { name: 'Bench', scopes: ['read'] })).key;
    const links = new Links(config.baseUrl, config.secretKeys);

    /** A bare client's COPY, its settings set for its transaction. */
    const copy = async (statement: CopyCsv) => {
      const t0 = performance.now();
      await copyClient.query('BEGIN');
      const names = Object.keys(statement.settings);
      await copyClient.query(
        `SELECT ${names.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
        names.flatMap((n) => [n, statement.settings[n]!]),
      );
      const { lines, bytes } = await counting(copyClient.query(copyTo(statement.sql)));
      await copyClient.query('COMMIT');
      return { lines, bytes, ms: performance.now() - t0 };
    };
    const settingsOfKeys = Object.fromEntries(keys.lookup.map((k, i) => [`assent.bench_key_${i + 1}`, k]));
    const withoutLinks = () => copy({ sql: withoutLinksSql(topicId, keys.lookup.length), settings: settingsOfKeys });
    const ceiling = (format: 'csv' | 'ndjson') => copy(audienceCopy(topicId, keys, links.inSql(), format));

    const download = async (path: string, headers: Record<string, string>) => {
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const t0 = performance.now();
      const { lines, bytes, status } = await new Promise<{ lines: number; bytes: number; status: number }>((resolve, reject) => {
        http
          .get(`${base}${path}`, { headers }, (res) => {
            counting(res).then((c) => resolve({ ...c, status: res.statusCode ?? 0 }), reject);
          })
          .on('error', reject);
      });
      const ms = performance.now() - t0;
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      if (status !== 200) throw new Error(`${path} answered ${status}`);
      return { lines, bytes, ms, rssGrowth: peak - rssBefore };
    };
    const staffCsv = () => download(`/admin/audiences/${topicId}/csv`, { cookie });
    const apiNdjson = () =>
      download(`/api/v1/topics/${topicId}/audience`, { authorization: `Bearer ${apiKey}`, accept: 'application/x-ndjson' });

    const csvRounds: Round[] = [];
    const ndjsonRounds: Round[] = [];
    const plainRates: number[] = [];
    let rssGrowth = 0;
    const rate = (rows: number, ms: number) => rows / (ms / 1000);
    for (let i = 0; i < options.rounds; i++) {
      const plain = await withoutLinks();
      plainRates.push(rate(plain.lines - 1, plain.ms));
      // CSV lines: a header, then one per row (no name in this fill holds a line break); NDJSON: one per row.
      const c = await ceiling('csv');
      const a = await staffCsv();
      const cn = await ceiling('ndjson');
      const an = await apiNdjson();
      if (a.lines !== c.lines || an.lines !== cn.lines || cn.lines !== c.lines - 1 || plain.lines !== c.lines)
        throw new Error(`row counts differ: staff CSV ${a.lines - 1}, its COPY ${c.lines - 1}, API ${an.lines}, its COPY ${cn.lines}`);
      if (i === 0)
        notes.push(
          `${cn.lines.toLocaleString('en-GB')} rows each, with links (CSV ${(a.bytes / MiB).toFixed(1)} MiB, NDJSON ${(an.bytes / MiB).toFixed(1)} MiB; without links ${(plain.bytes / MiB).toFixed(1)} MiB)`,
        );
      rssGrowth = Math.max(rssGrowth, a.rssGrowth, an.rssGrowth);
      csvRounds.push({ ceiling: rate(c.lines - 1, c.ms), app: rate(a.lines - 1, a.ms) });
      ndjsonRounds.push({ ceiling: rate(cn.lines, cn.ms), app: rate(an.lines, an.ms) });
    }
    const plainMedian = [...plainRates].sort((x, y) => x - y)[Math.floor(plainRates.length / 2)]!;
    notes.push(
      `COPY of the audience without links: ${Math.round(plainMedian).toLocaleString('en-GB')} rows/s (median); signing two links a row in SQL is the difference to the ceilings above`,
    );
    notes.push(
      `RSS growth of the serving process during an export: at most ${(rssGrowth / MiB).toFixed(0)} MiB (target < 50 MiB for 1,000,000 rows)`,
    );

    await copyClient.end();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await sessionPool.end();
    const size = total.toLocaleString('en-GB');
    return [
      {
        workload: `staff audience CSV with links, ${size} members`,
        ceiling: 'COPY (same statement) TO STDOUT',
        unit: 'rows/s',
        target: 0.7,
        rounds: csvRounds,
        notes,
      },
      {
        workload: `API audience NDJSON with links, ${size} members`,
        ceiling: 'COPY (same statement) TO STDOUT',
        unit: 'rows/s',
        target: 0.7,
        rounds: ndjsonRounds,
      },
    ];
  } finally {
    await database.drop();
  }
}

export const workload: Workload = { name: 'audience', run };
