/**
 * npm run bench (second part) — audience export (C12): fills a throw-away database with
 * BENCH_MEMBERS (default 1,000,000) members opted in to one topic, in SQL, then streams the
 * topic's CSV through the real HTTP route (signed in as an admin through the real pages) and
 * prints rows/s, total time and the peak RSS of this process, which serves the request, sampled
 * every 20 ms. It uses DATABASE_URL if set (a database is created and dropped there), else a
 * throw-away embedded PostgreSQL. Numbers, not assertions.
 *
 *   BENCH_MEMBERS=1000000 npm run bench
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { generate } from 'otplib';
import { insertStaffUser } from '../src/auth/staff.repository.js';
import { encryptTotpSecret } from '../src/auth/totp.js';
import { buildApp } from '../src/app.js';
import { hashPassword } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config.js';
import { insertOptedInMembers } from '../test/helpers/fixtures.js';
import { benchDatabase } from './database.js';
import { createLogger } from '../src/shared/logger.js';
import { suppressAddress, suppressionKeys } from '../src/shared/suppression.js';

const total = Number(process.env.BENCH_MEMBERS ?? 1_000_000);
const SECRET = 'bench-secret-key-0123456789abcdefghijklmnop';
const PASSWORD = 'bench password 0123456789';
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const logger = createLogger('warn');

const database = await benchDatabase('audience', logger);
const { db, url } = database;

const tFill = performance.now();
const [policy] = await db('policy_versions')
  .insert({
    version: '1.0',
    title: 'Privacy statement',
    summary: '',
    body: 'Body.',
    published_at: db.raw(`now() - interval '30 days'`),
    effective_at: db.raw(`now() - interval '20 days'`),
  })
  .returning('id');
const policyId = (policy as { id: number }).id;
const [topic] = await db('topics')
  .insert({ slug: 'bench-news', name: 'Bench news', kind: 'newsletter', introduced_in_policy_version_id: policyId })
  .returning('id');
const topicId = (topic as { id: number }).id;
await insertOptedInMembers(db, { count: total, topicId, policyId, prefix: 'member', domain: 'bench.example' });
// A few suppressed and undeliverable addresses, so the checks have something to leave out.
const keys = suppressionKeys([SECRET]);
for (let i = 1; i <= 100; i++) await suppressAddress(db, `member${i * 7}@bench.example`, keys);
await db('members').whereIn('email', ['member3@bench.example', 'member5@bench.example']).update({ email_undeliverable_at: db.fn.now() });
await db.raw('ANALYZE');
const fillMs = performance.now() - tFill;

const config = loadConfig({ NODE_ENV: 'test', BASE_URL: 'http://127.0.0.1', DATABASE_URL: url, SECRET_KEYS: SECRET, LOG_LEVEL: 'warn' });
const sessionPool = new pg.Pool({ connectionString: url, max: 2 });
const app = buildApp({ config, db, logger, sessionPool });
const server = http.createServer(app);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const staffId = await insertStaffUser(db, {
  email: 'bench-admin@bench.example',
  name: 'Bench',
  role: 'admin',
  passwordHash: await hashPassword(PASSWORD),
});
await db('staff_users')
  .where({ id: staffId })
  .update({ totp_secret: encryptTotpSecret(TOTP, [SECRET], staffId), totp_enabled_at: db.fn.now() });

let cookie = '';
async function call(p: string, form?: Record<string, string>): Promise<Response> {
  const res = await fetch(`${base}${p}`, {
    method: form ? 'POST' : 'GET',
    redirect: 'manual',
    headers: { cookie, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: form ? new URLSearchParams(form).toString() : undefined,
  });
  const set = /assent\.sid=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  if (set) cookie = set;
  return res;
}
const csrf = async (p: string) => /name="_csrf" value="([^"]+)"/.exec(await (await call(p)).text())?.[1] ?? '';
await call('/admin/login', { _csrf: await csrf('/admin/login'), email: 'bench-admin@bench.example', password: PASSWORD });
const signedIn = await call('/admin/login/totp', { _csrf: await csrf('/admin/login/totp'), code: await generate({ secret: TOTP }) });
if (signedIn.headers.get('location') !== '/admin') throw new Error(`bench sign-in failed: ${signedIn.status}`);

const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const t0 = performance.now();
let firstByteMs = 0;
let bytes = 0;
let lines = 0;
const status = await new Promise<number>((resolve, reject) => {
  http
    .get(`${base}/admin/audiences/${topicId}/csv`, { headers: { cookie } }, (res) => {
      if (res.headers['content-length'] !== undefined) reject(new Error('the CSV has a Content-Length: not streamed'));
      res.on('data', (chunk: Buffer) => {
        if (!firstByteMs) firstByteMs = performance.now() - t0;
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    })
    .on('error', reject);
});
const streamMs = performance.now() - t0;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const rows = lines - 1;
const audit = (await db('audit_log').where({ action: 'audience.exported' }).first('details')) as { details: unknown } | undefined;

console.log(`audience export benchmark: ${total} opted-in members, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`);
console.log(`  fill (members + ledger + consents in SQL):  ${(fillMs / 1000).toFixed(1)} s`);
console.log(
  `  GET /admin/audiences/:id/csv: HTTP ${status}, ${rows} rows, ${(bytes / 1048576).toFixed(1)} MiB in ${(streamMs / 1000).toFixed(2)} s = ${Math.round(rows / (streamMs / 1000))} rows/s; first byte after ${Math.round(firstByteMs)} ms`,
);
console.log(
  `  RSS of the serving process: ${(rssBefore / 1048576).toFixed(0)} MiB before, peak ${(peakRss / 1048576).toFixed(0)} MiB during the stream`,
);
console.log(`  audit entry: ${JSON.stringify(audit?.details)}`);

server.closeAllConnections();
await new Promise<void>((r) => server.close(() => r()));
await sessionPool.end();
await database.drop();
