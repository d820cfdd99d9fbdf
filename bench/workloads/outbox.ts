/**
 * Outbox drain (C14's queue): e-mails committed to the outbox (row and send job in one
 * transaction) drained by the job runner into a local SMTP sink (a process of its own), against
 * a raw nodemailer pool with the same number of SMTP connections sending the very same messages to
 * the same sink. At 8 and at 16 SMTP connections (SMTP_MAX_CONNECTIONS; the runner's concurrency,
 * WORKER_CONCURRENCY, twice that, as the raw pool has twice as many messages in flight); 5,000 e-mails a round
 * (BENCH_QUICK: 500), jobs claimed in batches (WORKER_LOCAL_QUEUE, by default twice the concurrency).
 * With BENCH_OUTBOX_UNBATCHED=1, once more at 8 claiming one job at a time (WORKER_LOCAL_QUEUE=0:
 * what the batched claims are worth; left out by default, it has no target and took a minute of a
 * full run). Also counted: the queries the
 * process sends to PostgreSQL, and the transactions it commits, per e-mail while the app drains.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_COLOUR } from '../../src/branding/branding.service.js';
import type { MailContext } from '../../src/mail/email.js';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { createMailer } from '../../src/mail/mailer.js';
import { SEND_EMAIL_TASK } from '../../src/mail/outbox.js';
import { insertEmailMessages, type NewEmailMessage } from '../../src/mail/outbox.repository.js';
import { startWorker } from '../../src/mail/worker.js';
import { policyNoticeEmail } from '../../src/policies/policies.emails.js';
import { createLogger } from '../../src/shared/logger.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { sendThroughRawPool, type RawMessage } from './raw-pool.js';
import { startSinkProcess } from './smtp-sink.js';

const FROM = 'bench@bench.example';
const ctx: MailContext = {
  orgName: 'Bench Society',
  baseUrl: 'https://bench.example',
  privacyContact: 'privacy@bench.example',
  timeZone: 'UTC',
  brand: { colour: DEFAULT_COLOUR, inlineLogo: false },
};

/** Every query any pg client of this process sends (knex's and graphile-worker's alike). */
let queries = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

function messages(n: number, memberId: string): NewEmailMessage[] {
  return Array.from({ length: n }, (_, j) => {
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
    const id = randomUUID();
    return {
      id,
      kind: email.kind,
      recipient: email.to,
      member_id: email.memberId,
      topic_id: email.topicId,
      message_id: `<${id}@bench.example>`,
      subject: email.subject,
      text_body: email.text,
      html_body: email.html,
      headers: email.headers,
    };
  });
}

const raw = (rows: readonly NewEmailMessage[]): RawMessage[] =>
  rows.map((r) => ({
    to: r.recipient!,
    subject: r.subject,
    text: r.text_body,
    html: r.html_body,
    messageId: r.message_id,
    headers: r.headers,
  }));

/**
 * The keyed send jobs of many messages in one statement (graphile-worker's add_jobs): what as many
 * enqueueEmail calls leave in the queue (a job of one message each, keyed by it), without as many
 * round trips before the measured drain.
 */
async function addSendJobs(db: Knex.Transaction, emailIds: readonly string[], maxAttempts: number): Promise<void> {
  await db.raw(
    `SELECT graphile_worker.add_jobs(array_agg(
       ROW(?, json_build_object('id', id), NULL, NULL, ?, 'email:' || id, NULL, NULL)::graphile_worker.job_spec))
     FROM unnest(?::uuid[]) AS id`,
    [SEND_EMAIL_TASK, maxAttempts, [...emailIds]],
  );
}

async function run(options: BenchOptions): Promise<WorkloadResult[]> {
  const total = options.quick ? 500 : 5000;
  const logger = createLogger('warn');
  const database = await benchDatabase('outbox', logger);
  const { db, url } = database;
  const sink = await startSinkProcess();
  const results: WorkloadResult[] = [];
  const commits = async () =>
    Number(
      (await db.raw(`SELECT pg_stat_force_next_flush(), xact_commit FROM pg_stat_database WHERE datname = current_database()`)).rows[0]
        .xact_commit,
    );
  try {
    const [member] = await db('members').insert({ email: 'bench@example.org', status: 'active' }).returning('id');
    const memberId = (member as { id: string }).id;
    let delivered = 0;
    const setups: { connections: number; localQueue?: number }[] = [{ connections: 8 }, { connections: 16 }];
    if (process.env.BENCH_OUTBOX_UNBATCHED === '1') setups.push({ connections: 8, localQueue: 0 });
    for (const { connections, localQueue } of setups) {
      const config = loadConfig({
        NODE_ENV: 'test',
        DATABASE_URL: url,
        SMTP_URL: sink.url,
        SECRET_KEYS: 'bench-secret-key-0123456789abcdefghijklmnop',
        WORKER_CONCURRENCY: String(2 * connections),
        SMTP_MAX_CONNECTIONS: String(connections),
        ...(localQueue === undefined ? {} : { WORKER_LOCAL_QUEUE: String(localQueue) }),
      });
      const mailer = createMailer(sink.url, { devCatcher: true, maxConnections: config.smtpMaxConnections });
      const runner = await startWorker({
        connectionString: url,
        config,
        db,
        mailer,
        mailFrom: FROM,
        logger,
        concurrency: config.workerConcurrency,
        pollInterval: 500,
        tasks: {}, // the outbox alone: no feature jobs, no schedule
      });
      const rounds: Round[] = [];
      const perEmail = { queries: [] as number[], commits: [] as number[] };
      for (let i = 0; i < options.rounds; i++) {
        const batch = messages(total, memberId);
        const ceiling = await sendThroughRawPool(sink.url, connections, FROM, raw(batch));
        delivered += total;
        await sink.until(delivered);
        const commits0 = await commits();
        let t0 = 0;
        await db.transaction(async (trx) => {
          for (let k = 0; k < batch.length; k += 1000) {
            const part = batch.slice(k, k + 1000);
            await insertEmailMessages(trx, part);
            await addSendJobs(
              trx,
              part.map((m) => m.id),
              3,
            );
          }
          queries = 0;
          t0 = performance.now();
        });
        delivered += total;
        await sink.until(delivered);
        const app = total / ((performance.now() - t0) / 1000);
        let polls = 0;
        for (; ; polls++) {
          const n = Number(
            (
              await db('email_messages')
                .whereIn(
                  'id',
                  batch.map((m) => m.id),
                )
                .where({ status: 'sent' })
                .count({ n: '*' })
            )[0]!.n,
          );
          if (n === total) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        perEmail.queries.push((queries - polls - 1) / total);
        // Other sessions report their counts within a second or so.
        await new Promise((r) => setTimeout(r, 1500));
        perEmail.commits.push((await commits()) - commits0 - polls - 2);
        rounds.push({ ceiling, app });
      }
      await runner.stop();
      mailer.close();
      const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
      results.push({
        workload: `outbox drain to SMTP, ${connections} connections${localQueue === undefined ? '' : `, WORKER_LOCAL_QUEUE=${localQueue}`}, ${total.toLocaleString('en-GB')} e-mails a round`,
        ceiling: `raw nodemailer pool of ${connections}`,
        // app: SMTP_MAX_CONNECTIONS = connections, WORKER_CONCURRENCY = 2 × connections
        unit: 'msg/s',
        target: connections === 8 && localQueue === undefined ? 0.6 : undefined,
        rounds,
        notes: [
          `queries to PostgreSQL per e-mail while draining, by round: ${fmt(perEmail.queries)}`,
          `commits per e-mail (the runner's heartbeat and polls included), by round: ${fmt(perEmail.commits.map((c) => c / total))}`,
        ],
      });
    }
    return results;
  } finally {
    await sink.close();
    await database.drop();
  }
}

export const workload: Workload = { name: 'outbox', run };
