/**
 * node --import tsx bench/outbox.ts — outbox throughput: how fast the worker drains queued e-mails into a real SMTP
 * server on loopback. It uses DATABASE_URL if set (a throw-away database is created and dropped
 * there), else a throw-away embedded PostgreSQL. Numbers, not assertions: tests assert behaviour.
 *
 *   BENCH_EMAILS=2000 BENCH_CONCURRENCY=8 node --import tsx bench/outbox.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config.js';
import { benchDatabase } from './database.js';
import { policyNoticeEmail } from '../src/policies/policies.emails.js';
import { createMailer } from '../src/mail/mailer.js';
import { enqueueEmail } from '../src/mail/outbox.js';
import { startWorker } from '../src/mail/worker.js';
import { createLogger } from '../src/shared/logger.js';

const total = Number(process.env.BENCH_EMAILS ?? 2000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const logger = createLogger('warn');

const tmp = mkdtempSync(path.join(tmpdir(), 'assent-bench-'));
const database = await benchDatabase('outbox', logger);
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

const ctx = { orgName: 'Bench Society', baseUrl: 'https://bench.example', privacyContact: 'privacy@bench.example' };
const [member] = await db('members').insert({ email: 'bench@example.org', status: 'active' }).returning('id');
const memberId = (member as { id: string }).id;

const t0 = performance.now();
for (let i = 0; i < total; i += 500) {
  await db.transaction(async (trx) => {
    for (let j = i; j < Math.min(total, i + 500); j++) {
      const email = policyNoticeEmail(ctx, {
        to: `member${j}@example.org`,
        memberId,
        memberName: `Member ${j}`,
        version: '2.0',
        title: 'Privacy statement',
        summary: 'A change.',
        effectiveAt: new Date(Date.now() + 10 * 86400000),
        introducesNewUse: false,
        manageUrl: 'https://bench.example/manage/x',
        unsubscribe: { url: 'https://bench.example/unsubscribe/x', token: 'x' },
      });
      await enqueueEmail(trx, email, { messageIdHost: 'bench.example', maxAttempts: 3 });
    }
  });
}
const enqueueMs = performance.now() - t0;

const mailer = createMailer(smtpUrl, { devCatcher: true });
const t1 = performance.now();
const runner = await startWorker({
  connectionString: url,
  config: loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    SMTP_URL: smtpUrl,
    SECRET_KEYS: 'bench-secret-key-0123456789abcdefghijklmnop',
  }),
  db,
  mailer,
  mailFrom: 'bench@bench.example',
  logger,
  concurrency,
  pollInterval: 500,
  // The outbox alone: no feature jobs, no schedule.
  tasks: {},
});
let peakRss = 0;
while (received < total) {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  await new Promise((r) => setTimeout(r, 50));
}
const sendMs = performance.now() - t1;
const sent = Number((await db('email_messages').where({ status: 'sent' }).count({ n: '*' }))[0]?.n);
await runner.stop();
mailer.close();

console.log(
  `outbox benchmark: ${total} e-mails, worker concurrency ${concurrency}, ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'}`,
);
console.log(
  `  enqueue (built + row + job, 500 per transaction): ${(enqueueMs / 1000).toFixed(2)} s = ${Math.round(total / (enqueueMs / 1000))} e-mails/s`,
);
console.log(
  `  send (claim job, read row, SMTP, mark sent):     ${(sendMs / 1000).toFixed(2)} s = ${Math.round(total / (sendMs / 1000))} e-mails/s`,
);
console.log(`  rows marked sent: ${sent}; SMTP messages received: ${received}; peak RSS ${(peakRss / 1048576).toFixed(0)} MiB`);

await database.drop();
await new Promise<void>((r) => smtp.close(() => r()));
rmSync(tmp, { recursive: true, force: true });
