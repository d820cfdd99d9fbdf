import { run, type Runner, type TaskList } from 'graphile-worker';
import pg from 'pg';
import type { Config } from '../config.js';
import { CARRY_OUT_REMOVALS_TASK, makeCarryOutRemovalsTask } from '../removal/erasure.task.js';
import { POLICY_NOTICE_BATCH_TASK } from '../policies/notices.service.js';
import { makePolicyNoticeBatchTask } from '../policies/notices.task.js';
import type { Logger } from '../shared/logger.js';
import { makeServiceContext } from '../context.js';
import { suppressionKeys } from '../shared/suppression.js';
import { SEND_EMAIL_TASK } from './outbox.js';
import { makeSendEmailTask, type SendEmailDeps } from './send-email.task.js';
import { graphileLogger } from './worker-logger.js';
import { runMaintenance } from '../shared/maintenance.js';

/** Scheduled tasks (graphile-worker crontab lines: minute hour day month weekday task). */
const CRONTAB = ['*/15 * * * * maintenance', `7 * * * * ${CARRY_OUT_REMOVALS_TASK}`];

export interface WorkerOptions extends Omit<SendEmailDeps, 'suppressionKeys'> {
  /** For the scheduled tasks that act as a service (carrying out removals) and the suppression check. */
  config: Config;
  connectionString: string;
  concurrency: number;
  logger: Logger;
  /** Milliseconds between polls for jobs scheduled later (retries); new jobs arrive by LISTEN/NOTIFY. */
  pollInterval?: number;
  extraTasks?: TaskList;
}

/**
 * Starts a job runner. Several can run against one database (any number of processes):
 * graphile-worker claims each job with SKIP LOCKED. Signals are ours to handle (server.ts).
 */
export async function startWorker(opts: WorkerOptions): Promise<Runner> {
  const taskList: TaskList = {
    [SEND_EMAIL_TASK]: makeSendEmailTask({ ...opts, suppressionKeys: suppressionKeys(opts.config.secretKeys) }),
    [CARRY_OUT_REMOVALS_TASK]: makeCarryOutRemovalsTask(makeServiceContext(opts.config, opts.db), opts.logger),
    [POLICY_NOTICE_BATCH_TASK]: makePolicyNoticeBatchTask(makeServiceContext(opts.config, opts.db)),
    maintenance: async () => {
      await runMaintenance(opts.db);
    },
    ...opts.extraTasks,
  };
  // The runner gets a pool we own. A pool graphile-worker makes itself is ended on stop() without
  // waiting for its sockets to close, and drops its 'error' listener: a connection still closing
  // when PostgreSQL stops (the embedded one stops right after) then raised an unhandled 'error'
  // and the process exited 1 instead of 0. Our listener stays for the pool's whole life.
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: Math.max(10, opts.concurrency + 2) });
  let stopping = false;
  const onError = (err: Error) => {
    if (stopping) opts.logger.debug({ event: 'worker.pool_closed_connection', err: err.message });
    else opts.logger.warn({ event: 'worker.pool_error', err: err.message });
  };
  pool.on('error', onError);
  // A checked-out client's own errors (as graphile-worker asks of a pool it is given).
  pool.on('connect', (client) => client.on('error', onError));
  let runner: Runner;
  try {
    runner = await run({
      crontab: CRONTAB.join('\n'),
      pgPool: pool,
      concurrency: opts.concurrency,
      pollInterval: opts.pollInterval ?? 2000,
      noHandleSignals: true,
      logger: graphileLogger(opts.logger),
      taskList,
    });
  } catch (err) {
    await pool.end();
    throw err;
  }
  return {
    ...runner,
    async stop(reason?: string) {
      stopping = true;
      await runner.stop(reason);
      await settled(pool);
      await pool.end();
    },
  };
}

/**
 * graphile-worker records a finished job without awaiting it, so runner.stop() can resolve while
 * that write still waits for or holds a connection. Ending the pool then would drop the write and
 * leave the job locked (for hours) though its work is done. Wait until every client is back.
 */
async function settled(pool: pg.Pool, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((pool.waitingCount > 0 || pool.idleCount < pool.totalCount) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
