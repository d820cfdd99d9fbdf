/**
 * npm run bench (third part) — one bulletin to BENCH_BULLETIN_MEMBERS (default 10,000) members into
 * a local SMTP sink, through the real path (confirm → snapshot batches → dispatcher → send jobs with
 * the consent re-check and the rate-limit slot → SMTP), with the rate limits set high; then, in the
 * same run, a raw nodemailer pool with the same number of SMTP connections sends the very same
 * messages (read back from the outbox) to the same sink. Prints both rates, their ratio and the
 * machine's load average. Numbers, not assertions.
 *
 *   BENCH_BULLETIN_MEMBERS=10000 BENCH_CONCURRENCY=8 npm run bench
 */
import { loadavg } from 'node:os';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { insertStaffUser } from '../src/auth/staff.repository.js';
import { confirmSend, createBulletin } from '../src/bulletins/bulletins.service.js';
import { loadConfig } from '../src/config.js';
import { makeServiceContext } from '../src/context.js';
import { CRONTAB, jobTasks } from '../src/jobs.js';
import { createMailer } from '../src/mail/mailer.js';
import { startWorker } from '../src/mail/worker.js';
import { createLogger } from '../src/shared/logger.js';
import { insertOptedInMembers } from '../test/helpers/fixtures.js';
import { benchDatabase } from './database.js';

const total = Number(process.env.BENCH_BULLETIN_MEMBERS ?? 10_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const logger = createLogger('warn');
const database = await benchDatabase('bulletin', logger);
const { db, url } = database;

let received = 0;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, _s, cb) {
    stream.on('data', () => {});
    stream.on('end', () => {
      received++;
      cb();
    });
  },
});
await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
const smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;

const config = loadConfig({
  NODE_ENV: 'test',
  DATABASE_URL: url,
  SMTP_URL: smtpUrl,
  SECRET_KEYS: 'bench-secret-key-0123456789abcdefghijklmnop',
  BASE_URL: 'https://bench.example',
  ORG_ADDRESS: '1 Bench Street, Benchtown',
  SEND_RATE_PER_SECOND: '100000',
  SEND_RATE_PER_HOUR: '100000000',
  WORKER_CONCURRENCY: String(concurrency),
});
const svc = makeServiceContext(config, db);
const [policy] = await db('policy_versions')
  .insert({
    version: '1.0',
    title: 'Privacy statement',
    summary: '',
    body: 'Body.',
    published_at: db.raw(`now() - interval '30 days'`),
    effective_at: db.raw(`now() - interval '23 days'`),
  })
  .returning('id');
const policyId = (policy as { id: number }).id;
const [topic] = await db('topics')
  .insert({ slug: 'digest', name: 'Research digest', kind: 'newsletter', introduced_in_policy_version_id: policyId })
  .returning('id');
const topicId = (topic as { id: number }).id;
await insertOptedInMembers(db, { count: total, topicId, policyId, prefix: 'reader', domain: 'example.org' });
const staffId = await insertStaffUser(db, { email: 'editor@bench.example', name: 'Editor', role: 'editor', passwordHash: 'unused' });
const body = [
  '## This month',
  '',
  'A few paragraphs of news, with **emphasis**, a [link](https://example.org/report) and a list:',
  '',
  '- one thing',
  '- another thing',
  '',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(6),
].join('\n');
const bulletinId = await createBulletin(svc, staffId, {
  topic_id: topicId,
  subject: 'Bench digest',
  preheader: 'This month',
  body,
  web_version: true,
});

const mailer = createMailer(smtpUrl, { devCatcher: true });
const runner = await startWorker({
  connectionString: url,
  config,
  db,
  mailer,
  mailFrom: config.mailFrom,
  logger,
  concurrency,
  pollInterval: 500,
  tasks: jobTasks(config, db, logger),
  crontab: CRONTAB,
});
const load0 = loadavg()[0]!;
const t0 = performance.now();
await confirmSend(svc, staffId, bulletinId, { when: 'now', at: undefined, audience: total });
while (received < total) await new Promise((r) => setTimeout(r, 20));
const bulletinMs = performance.now() - t0;
const loadBulletin = loadavg()[0]!;
await runner.stop();
mailer.close();

// The same messages, as the outbox holds them, through a raw pool of the same size.
const rows = (await db('email_messages')
  .where({ kind: 'bulletin' })
  .select('recipient', 'subject', 'text_body', 'html_body', 'headers', 'message_id')) as {
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  headers: Record<string, string>;
  message_id: string;
}[];
const raw = createMailer(smtpUrl, { devCatcher: true });
received = 0;
const t1 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < rows.length) {
      const r = rows[next++]!;
      await raw.sendMail({
        from: config.mailFrom,
        to: r.recipient,
        subject: r.subject,
        text: r.text_body,
        html: r.html_body,
        messageId: r.message_id,
        headers: Object.fromEntries(Object.entries(r.headers).map(([k, value]) => [k, { prepared: true, value }])),
      });
    }
  }),
);
const rawMs = performance.now() - t1;
const loadRaw = loadavg()[0]!;
raw.close();

const run = (await db('bulletins').where({ id: bulletinId }).first('started_at', 'snapshot_finished_at')) as {
  started_at: Date;
  snapshot_finished_at: Date;
};
const snapshotS = (run.snapshot_finished_at.getTime() - run.started_at.getTime()) / 1000;
const bulletinRate = total / (bulletinMs / 1000);
const rawRate = rows.length / (rawMs / 1000);
console.log(`bulletin benchmark: ${total} members, worker concurrency ${concurrency}, 5 SMTP connections, rate limits high`);
console.log(
  `  bulletin (confirm → snapshot → dispatch → send jobs → SMTP): ${(bulletinMs / 1000).toFixed(2)} s = ${Math.round(bulletinRate)} msg/s`,
);
console.log(
  `  raw nodemailer pool, same ${rows.length} messages, same sink:  ${(rawMs / 1000).toFixed(2)} s = ${Math.round(rawRate)} msg/s`,
);
console.log(`  of which the snapshot (recipient rows and built messages, in batches of 500): ${snapshotS.toFixed(2)} s`);
console.log(`  ratio bulletin / raw: ${(bulletinRate / rawRate).toFixed(2)}`);
console.log(
  `  load average (1 min): ${load0.toFixed(2)} before, ${loadBulletin.toFixed(2)} after the bulletin, ${loadRaw.toFixed(2)} after the raw pool`,
);

await database.drop();
await new Promise<void>((r) => smtp.close(() => r()));
