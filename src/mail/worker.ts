import { run, type Runner, type TaskList } from 'graphile-worker';
import type { Logger } from '../shared/logger.js';
import { SEND_EMAIL_TASK } from './outbox.js';
import { makeSendEmailTask, type SendEmailDeps } from './send-email.task.js';
import { graphileLogger } from './worker-logger.js';
import { runMaintenance } from '../shared/maintenance.js';

export interface WorkerOptions extends SendEmailDeps {
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
    [SEND_EMAIL_TASK]: makeSendEmailTask(opts),
    maintenance: async () => {
      await runMaintenance(opts.db);
    },
    ...opts.extraTasks,
  };
  return run({
    crontab: '*/15 * * * * maintenance',
    connectionString: opts.connectionString,
    concurrency: opts.concurrency,
    pollInterval: opts.pollInterval ?? 2000,
    noHandleSignals: true,
    logger: graphileLogger(opts.logger),
    taskList,
  });
}
