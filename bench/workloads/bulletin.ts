/**
 * One bulletin to 10,000 members (BENCH_QUICK: 1,000) through the real path (confirm → snapshot
 * batches → dispatcher → send jobs with the consent re-check and the rate-limit slot → SMTP), with
 * the rate limits set high, into a local SMTP sink (a process of its own); against a raw nodemailer
 * pool of the same 8 SMTP connections sending the very same messages (read back from the outbox)
 * to the same sink. A new bulletin each round, after an unmeasured warm-up bulletin to 500 other
 * members (both sides); the runner's concurrency is 16 (2 × connections).
 */
import { insertStaffUser } from '../../src/auth/staff.repository.js';
import { seedNewsletter, seedPolicyInForce } from '../seed.js';
import { confirmSend, createBulletin } from '../../src/bulletins/bulletins.service.js';
import { loadConfig } from '../../src/config.js';
import { makeServiceContext } from '../../src/context.js';
import { CRONTAB, jobTasks } from '../../src/jobs.js';
import { createMailer } from '../../src/mail/mailer.js';
import { startWorker } from '../../src/mail/worker.js';
import { createLogger } from '../../src/shared/logger.js';
import { insertOptedInMembers } from '../../test/helpers/fixtures.js';
import { benchDatabase } from '../database.js';
import type { BenchOptions, Round, Workload, WorkloadResult } from '../harness.js';
import { sendThroughRawPool } from './raw-pool.js';
import { startSinkProcess } from './smtp-sink.js';

const CONNECTIONS = 8;
/** The unmeasured first bulletin's audience. */
const WARMUP_MEMBERS = 500;
const BODY = [
  '## This month',
  '',
  'A few paragraphs of news, with **emphasis**, a [link](https://example.org/report) and a list:',
  '',
  '- one thing',
  '- another thing',
  '',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(6),
].join('\n');

async function run(options: BenchOptions): Promise<WorkloadResult[]> {
  const total = options.quick ? 1000 : 10_000;
  const logger = createLogger('warn');
  const database = await benchDatabase('bulletin', logger);
  const { db, url } = database;
  const sink = await startSinkProcess();
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: url,
      SMTP_URL: sink.url,
      SECRET_KEYS: 'bench-secret-key-0123456789abcdefghijklmnop',
      BASE_URL: 'https://bench.example',
      ORG_ADDRESS: '1 Bench Street, Benchtown',
      SEND_RATE_PER_SECOND: '100000',
      SEND_RATE_PER_HOUR: '100000000',
      WORKER_CONCURRENCY: String(2 * CONNECTIONS),
      SMTP_MAX_CONNECTIONS: String(CONNECTIONS),
    });
    const svc = makeServiceContext(config, db);
    const policyId = await seedPolicyInForce(db);
    const topicId = await seedNewsletter(db, policyId, 'digest', 'Research digest');
    await insertOptedInMembers(db, { count: total, topicId, policyId, prefix: 'reader', domain: 'example.org' });
    const warmupTopicId = await seedNewsletter(db, policyId, 'warm-up', 'Warm-up');
    await insertOptedInMembers(db, { count: WARMUP_MEMBERS, topicId: warmupTopicId, policyId, prefix: 'early', domain: 'example.org' });
    const staffId = await insertStaffUser(db, { email: 'editor@bench.example', name: 'Editor', role: 'editor', passwordHash: 'unused' });

    const mailer = createMailer(sink.url, { devCatcher: true, maxConnections: config.smtpMaxConnections });
    const runner = await startWorker({
      connectionString: url,
      config,
      db,
      mailer,
      mailFrom: config.mailFrom,
      logger,
      concurrency: config.workerConcurrency,
      pollInterval: 500,
      tasks: jobTasks(config, db, logger),
      crontab: CRONTAB,
    });
    const rounds: Round[] = [];
    const snapshots: string[] = [];
    let delivered = 0;
    /** One bulletin to the topic's members through the app, then the same messages through the raw pool: msg/s of each. */
    const round = async (topic: number, members: number, subject: string): Promise<Round & { snapshot: string }> => {
      const bulletinId = await createBulletin(svc, staffId, {
        topic_id: topic,
        subject,
        preheader: 'This month',
        body: BODY,
        web_version: true,
      });
      const t0 = performance.now();
      await confirmSend(svc, staffId, bulletinId, { when: 'now', at: undefined, audience: members });
      delivered += members;
      await sink.until(delivered);
      const app = members / ((performance.now() - t0) / 1000);
      const run = (await db('bulletins').where({ id: bulletinId }).first('started_at', 'snapshot_finished_at')) as {
        started_at: Date;
        snapshot_finished_at: Date;
      };
      const rows = (await db('email_messages')
        .where({ kind: 'bulletin', subject })
        .select('recipient', 'subject', 'text_body', 'html_body', 'headers', 'message_id')) as {
        recipient: string;
        subject: string;
        text_body: string;
        html_body: string;
        headers: Record<string, string>;
        message_id: string;
      }[];
      if (rows.length !== members) throw new Error(`the bulletin made ${rows.length} messages, not ${members}`);
      const ceiling = await sendThroughRawPool(
        sink.url,
        CONNECTIONS,
        config.mailFrom,
        rows.map((r) => ({
          to: r.recipient,
          subject: r.subject,
          text: r.text_body,
          html: r.html_body,
          messageId: r.message_id,
          headers: r.headers,
        })),
      );
      delivered += members;
      await sink.until(delivered);
      return { ceiling, app, snapshot: ((run.snapshot_finished_at.getTime() - run.started_at.getTime()) / 1000).toFixed(2) };
    };
    try {
      // Unmeasured, as one-click warms up: a first bulletin to a small topic compiles the code and
      // opens the SMTP connections on both sides, so the first measured round is not the cold start.
      await round(warmupTopicId, WARMUP_MEMBERS, 'Bench warm-up');
      for (let i = 1; i <= options.rounds; i++) {
        const { snapshot, ...measured } = await round(topicId, total, `Bench digest ${i}`);
        snapshots.push(snapshot);
        rounds.push(measured);
      }
    } finally {
      await runner.stop();
      mailer.close();
    }
    return [
      {
        workload: `one bulletin to ${total.toLocaleString('en-GB')} members, ${CONNECTIONS} SMTP connections`,
        ceiling: `raw nodemailer pool of ${CONNECTIONS}, same messages`,
        unit: 'msg/s',
        rounds,
        notes: [`of which the snapshot (recipient rows and built messages, in batches of 500), s, by round: ${snapshots.join(', ')}`],
      },
    ];
  } finally {
    await sink.close();
    await database.drop();
  }
}

export const workload: Workload = { name: 'bulletin', run };
