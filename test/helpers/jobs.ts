import { makeWorkerUtils } from 'graphile-worker';
import type { Knex } from 'knex';
import type { Db } from '../../src/db.js';
import { lockWaiters } from './db.js';

interface JobRow {
  id: string;
  task_identifier: string;
  attempts: number;
  max_attempts: number;
  run_at: Date;
  last_error: string | null;
  locked_at: Date | null;
}

export async function pendingJobs(db: Db, task = 'send_email'): Promise<JobRow[]> {
  const { rows } = await db.raw<{ rows: JobRow[] }>(
    'SELECT id, task_identifier, attempts, max_attempts, run_at, last_error, locked_at FROM graphile_worker.jobs WHERE task_identifier = ? ORDER BY id',
    [task],
  );
  return rows;
}

/** The pending send job of one outbox message (other tests' jobs may still be in the table). */
export async function sendJobFor(db: Db, emailId: string): Promise<JobRow | undefined> {
  const { rows } = await db.raw<{ rows: JobRow[] }>(
    `SELECT id, task_identifier, attempts, max_attempts, run_at, last_error, locked_at FROM graphile_worker.jobs
      WHERE task_identifier = 'send_email' AND key = 'email:' || ?`,
    [emailId],
  );
  return rows[0];
}

/** A send job with the messages it carries. */
export interface SendJobMessages {
  emailIds: string[];
  /** A batch job (an array payload, see addSendJobBatches) rather than a job of one message. */
  batch: boolean;
  attempts: number;
  locked_at: Date | null;
  locked_by: string | null;
}

/**
 * Every send job with its messages: a job of one message names it in its payload (and key), a
 * batch job lists its entries. The payload is only in graphile-worker's own table: its jobs view
 * leaves it out.
 */
export async function sendJobMessages(db: Db): Promise<SendJobMessages[]> {
  const { rows } = await db.raw<{ rows: SendJobMessages[] }>(
    `SELECT CASE WHEN json_typeof(p.payload) = 'array'
                 THEN ARRAY(SELECT e->>'id' FROM json_array_elements(p.payload) e)
                 ELSE ARRAY[p.payload->>'id'] END AS "emailIds",
            json_typeof(p.payload) = 'array' AS batch, j.attempts, j.locked_at, j.locked_by
       FROM graphile_worker.jobs j JOIN graphile_worker._private_jobs p ON p.id = j.id
      WHERE j.task_identifier = 'send_email' ORDER BY j.id`,
  );
  return rows;
}

export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the queue holds no job of this task that is due or running. */
export async function waitForQueueIdle(db: Db, task = 'send_email', timeoutMs = 10000): Promise<void> {
  await waitFor(
    async () => (await pendingJobs(db, task)).every((j) => j.run_at.getTime() > Date.now() && !j.locked_at),
    `the ${task} queue to be idle`,
    timeoutMs,
  );
}

/** Makes retries scheduled for later (exponential backoff) due now, so tests need not wait. */
export async function makeRetriesDueNow(url: string, db: Db): Promise<void> {
  const utils = await makeWorkerUtils({ connectionString: url });
  try {
    const ids = (await pendingJobs(db)).map((j) => j.id);
    if (ids.length) await utils.rescheduleJobs(ids, { runAt: new Date() });
  } finally {
    await utils.release();
  }
}

/**
 * Two runs of one step of a job chain side by side (a wake while it runs makes a second job):
 * while `hold` keeps a row the step needs locked, the first run starts and waits on it (a statement
 * like `waitingOn`); the second starts while the first is open and either ends or waits too; then
 * the hold is committed. Both results, the first run's first.
 */
export async function twoRunsSideBySide<T>(
  db: Db,
  hold: Knex.Transaction,
  waitingOn: string,
  run: () => Promise<T>,
  what: string,
): Promise<[T, T]> {
  const one = run();
  await waitFor(async () => (await lockWaiters(db, waitingOn)) === 1 || undefined, `the first ${what} to wait`);
  let secondEnded = false;
  const two = run().finally(() => (secondEnded = true));
  await waitFor(async () => secondEnded || (await lockWaiters(db, waitingOn)) === 2 || undefined, `the second ${what} to end or wait`);
  await hold.commit();
  return Promise.all([one, two]);
}
