import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Task } from 'graphile-worker';
import { loadConfig } from '../../src/config.js';
import { createMailer } from '../../src/mail/mailer.js';
import { startWorker } from '../../src/mail/worker.js';
import { TEST_SECRET } from '../helpers/app.js';
import { capturingLogger } from '../helpers/logs.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { eventually } from '../helpers/processes.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp.js';

/**
 * The moment graphile-worker 0.17 cannot survive on its own: a job has done its work and the
 * database is gone when the runner records that. Its runner then shuts itself down (without our
 * handling, it ended the whole process); the job runner must put a new one in its place as soon
 * as the database answers, and the job — whose end was never recorded — must run again.
 */
let pg: OwnPostgres;
let smtp: SmtpSink;

beforeAll(async () => {
  pg = await startOwnPostgres();
  smtp = await startSmtpSink();
}, 120000);
afterAll(async () => {
  await smtp?.close();
  await pg?.close();
});

/** A job runner of its own on this file's PostgreSQL, with the settings and tasks given, its logs captured. */
async function startRunner(env: Record<string, string>, concurrency: number, tasks: Record<string, Task>) {
  const { logger, lines } = capturingLogger();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: pg.url,
    SMTP_URL: smtp.url,
    SECRET_KEYS: TEST_SECRET,
    BASE_URL: 'http://assent.test',
    ...env,
  });
  const mailer = createMailer(smtp.url, { devCatcher: true });
  const worker = await startWorker({
    connectionString: pg.url,
    config,
    db: pg.db,
    mailer,
    mailFrom: config.mailFrom,
    logger,
    concurrency,
    pollInterval: 200,
    tasks,
  });
  return { worker, mailer, lines };
}

describe('the job runner replaces itself', () => {
  it('when the database goes away as a job ends, a new runner starts once it is back and the job runs again', async () => {
    let runs = 0;
    let haltedAt = 0;
    // The first run stops PostgreSQL just before it returns, and starts it again two seconds later.
    const outageAtTheEnd: Task = async () => {
      runs++;
      if (runs > 1) return;
      await pg.server.halt();
      haltedAt = Date.now();
      setTimeout(() => void pg.server.resume(), 2000);
    };
    const { worker, mailer, lines } = await startRunner({ WORKER_HEARTBEAT_SECONDS: '1', WORKER_STALE_SECONDS: '3' }, 2, {
      outage_at_the_end: outageAtTheEnd,
    });
    try {
      await pg.db.raw(`SELECT graphile_worker.add_job('outage_at_the_end', '{}'::json)`);
      await eventually(async () => (runs >= 2 ? true : undefined), 'the job to run again after the outage', 60000);
      const rerunAfterMs = Date.now() - haltedAt;
      await eventually(
        async () => ((await pg.db.raw('SELECT count(*)::int AS n FROM graphile_worker.jobs')).rows[0].n === 0 ? true : undefined),
        'the job to be recorded as done',
      );
      expect(runs).toBe(2);
      expect(worker.health().status).toBe('running');
      expect(lines.filter((l) => l.event === 'worker.restarted')).toHaveLength(1);
      expect(lines.filter((l) => (l.level as number) >= 40).map((l) => l.event)).toEqual(['db.unreachable']);
      process.stdout.write(`runner replaced: the job ran again ${rerunAfterMs} ms after PostgreSQL stopped (2 s outage)\n`);
    } finally {
      await worker.stop();
      mailer.close();
    }
  }, 120000);
});

describe('stopping a runner that holds jobs claimed in a batch', () => {
  it('the running job finishes, the claimed ones that had not started go back unlocked, and nothing is logged as an error', async () => {
    let started = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const waitsToBeTold: Task = async () => {
      started++;
      await finished;
    };
    const { worker, mailer, lines } = await startRunner({ WORKER_LOCAL_QUEUE: '8' }, 1, { waits_to_be_told: waitsToBeTold });
    const jobs = async () =>
      (
        await pg.db.raw<{ rows: { n: number; locked: number; failed: number }[] }>(
          `SELECT count(*)::int AS n, count(locked_at)::int AS locked, count(last_error)::int AS failed
           FROM graphile_worker.jobs WHERE task_identifier = 'waits_to_be_told'`,
        )
      ).rows[0];
    try {
      await pg.db.raw(`SELECT graphile_worker.add_job('waits_to_be_told', '{}'::json) FROM generate_series(1, 5)`);
      await eventually(async () => (started === 1 ? true : undefined), 'the first job to start');
      // One job running, the other four claimed with it into the runner's local queue.
      expect(await jobs()).toEqual({ n: 5, locked: 5, failed: 0 });
      const stopped = worker.stop();
      setTimeout(finish, 300);
      await stopped;
    } finally {
      finish();
      mailer.close();
    }
    expect(started).toBe(1);
    expect(await jobs()).toEqual({ n: 4, locked: 0, failed: 0 });
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  }, 60000);
});
