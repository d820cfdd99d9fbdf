import { EventEmitter } from 'node:events';
import { run, type JobHelpers, type Runner, type Task, type TaskList, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import { suppressionKeys } from '../shared/suppression.js';
import { SEND_EMAIL_TASK } from './outbox.js';
import { makeSendEmailTask, type SendEmailDeps } from './send-email.task.js';
import { graphileLogger } from '../shared/graphile-logger.js';
import { DatabaseWatch, errorMessage, isDatabaseUnavailable, untilDatabaseAnswers } from '../shared/db-watch.js';
import { handlePoolErrors, pgSessionOptions } from '../shared/pg-session.js';
import { mendLocalQueueRelease } from './local-queue-release.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';

/** How long a job waits for an unreachable database before it counts as a failed attempt. */
const JOB_WAITS_FOR_DATABASE_MS = 60_000;

/** How long a runner that gave up may take to finish the jobs in its hands before it is replaced anyway. */
const GIVE_UP_WAIT_MS = 120_000;

/**
 * With WORKER_LOCAL_QUEUE of 2 or more (by default twice the concurrency), jobs are claimed in
 * batches: the runner locks that many at once into a local queue and hands them to its free slots
 * without asking the database each time (graphile-worker's localQueue): a round trip less for
 * nearly every job, which is what bulk sending is made of. The trade-off: a job waiting in one
 * runner's local queue is locked, so another runner cannot take it meanwhile; they are returned on
 * stop (see local-queue-release.ts), and a dead runner's are unlocked by the heartbeat like its
 * running ones (and run again: none of them had started).
 *
 * Completions and failures are recorded in batches (delay 0: those that come in the same turn of
 * the event loop, as the send jobs whose sent marks were committed together do).
 */
function batching(localQueue: number) {
  return {
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
    ...(localQueue >= 2 ? { localQueue: { size: localQueue } } : {}),
  };
}

export interface WorkerOptions extends Omit<SendEmailDeps, 'suppressionKeys'> {
  /** For the scheduled tasks that act as a service (carrying out removals) and the suppression check. */
  config: Config;
  connectionString: string;
  concurrency: number;
  logger: Logger;
  /** The process's database watch; one of its own is made when none is given (tests). */
  watch?: DatabaseWatch;
  /** Milliseconds between polls for jobs scheduled later (retries); new jobs arrive by LISTEN/NOTIFY. */
  pollInterval?: number;
  /** The features' jobs (src/jobs.ts); sending e-mail is added here. */
  tasks: TaskList;
  /** Scheduled runs of those jobs (graphile-worker crontab lines). */
  crontab?: readonly string[];
}

export interface WorkerHealth {
  /** running: taking jobs; restarting: waiting for the database to start a new runner; stopped. */
  status: 'running' | 'restarting' | 'stopped';
  /** When this process last recorded in PostgreSQL that its runner is alive. */
  lastHeartbeatAt: Date | null;
}

/** A process's job runner, kept running through database outages until stop() is called. */
export interface JobWorker {
  /** Lets running jobs finish, releases the rest, and removes the runner's heartbeat. */
  stop(): Promise<void>;
  health(): WorkerHealth;
}

/**
 * Starts a job runner. Several can run against one database (any number of processes):
 * graphile-worker claims each job with SKIP LOCKED. Signals are ours to handle (server.ts).
 *
 * graphile-worker 0.17 gives up on a runner when it cannot record a job's completion or failure
 * (the database went away mid-job): by default it does so with an unhandled rejection that ends
 * the whole process. Recording in batches (delay 0) routes that failure to its pool instead,
 * which shuts itself down; we then start a new runner as soon as the database answers, and the
 * heartbeat unlocks the jobs the old one held. A job whose completion was lost runs again: each
 * task is idempotent (the outbox row, the notice's primary key) so that is harmless.
 */
export async function startWorker(opts: WorkerOptions): Promise<JobWorker> {
  const { logger } = opts;
  const stopController = new AbortController();
  const watch = opts.watch ?? new DatabaseWatch(logger);
  if (!opts.watch) watch.setProbe(() => opts.db.raw('SELECT 1'));
  const taskList = patiently(
    {
      [SEND_EMAIL_TASK]: makeSendEmailTask({
        ...opts,
        watch,
        stopSignal: stopController.signal,
        suppressionKeys: suppressionKeys(opts.config.secretKeys),
        sendRate: opts.config.sendRate,
        maxAttempts: opts.config.mailMaxAttempts,
      }),
      ...opts.tasks,
    },
    watch,
  );
  // The runner gets a pool we own. A pool graphile-worker makes itself is ended on stop() without
  // waiting for its sockets to close, and drops its 'error' listener: a connection still closing
  // when PostgreSQL stops (the embedded one stops right after) then raised an unhandled 'error'
  // and the process exited 1 instead of 0. Our listener stays for the pool's whole life.
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: Math.max(10, opts.concurrency + 2),
    connectionTimeoutMillis: 5000,
    ...pgSessionOptions(opts.config.databaseSession),
  });
  let stopping = false;
  const onError = (err: Error) => {
    if (stopping) logger.debug({ event: 'worker.pool_closed_connection', err: err.message });
    else if (isDatabaseUnavailable(err)) watch.unreachable('worker pool', err);
    else logger.warn({ event: 'worker.pool_error', err: err.message });
  };
  handlePoolErrors(pool, onError);

  const heartbeat = new WorkerHeartbeat({
    connectionString: opts.connectionString,
    logger,
    watch,
    intervalMs: opts.config.workerHeartbeatSeconds * 1000,
    staleMs: opts.config.workerStaleSeconds * 1000,
    session: opts.config.databaseSession,
  });

  /**
   * A runner, and a promise that settles when its pool is done. graphile-worker's pool shuts
   * itself down when it cannot record a job's end (the database went away mid-job); it then lets
   * the jobs in hand finish, but its batchers may never report that they have released (0.17:
   * after a failed batch, each later successful one unbalances their pending count), so
   * runner.promise can wait forever. The pool is also done, for us, once it has given up and no
   * job of it is running any more: whatever it still holds locked is an orphan.
   */
  type Launched = { runner: Runner; workerId: string; done: Promise<unknown> };
  const launch = async (): Promise<Launched> => {
    const events = new EventEmitter() as WorkerEvents;
    mendLocalQueueRelease(events);
    let workerId: string | undefined;
    let registered: Promise<void> | undefined;
    const running = new Set<string>();
    let gaveUp: unknown;
    let givenUp = false;
    let markDone: (reason: unknown) => void = () => {};
    const done = new Promise<unknown>((resolve) => (markDone = resolve));
    const doneIfIdle = () => {
      if (givenUp && running.size === 0) markDone(gaveUp ?? new Error('the job runner shut itself down'));
    };
    events.on('pool:create', ({ workerPool }) => {
      workerId = workerPool.id;
      registered = heartbeat.add(workerPool.id);
    });
    events.on('job:start', ({ job }) => running.add(job.id));
    events.on('job:complete', ({ job }) => {
      running.delete(job.id);
      doneIfIdle();
    });
    events.on('pool:fatalError', ({ error }) => {
      gaveUp ??= error;
    });
    events.on('pool:gracefulShutdown', ({ message }) => {
      if (stopping) return;
      gaveUp ??= new Error(message);
      givenUp = true;
      doneIfIdle();
      // A task that does not end (a hung SMTP connection) must not keep the process without a runner.
      setTimeout(() => markDone(gaveUp), GIVE_UP_WAIT_MS).unref();
    });
    const runner = await run({
      crontab: (opts.crontab ?? []).join('\n'),
      pgPool: pool,
      concurrency: opts.concurrency,
      pollInterval: opts.pollInterval ?? 2000,
      noHandleSignals: true,
      logger: graphileLogger(logger, watch),
      events,
      taskList,
      preset: { worker: batching(opts.config.workerLocalQueue) },
    });
    runner.promise.then(
      () => markDone(gaveUp),
      (err: unknown) => markDone(err),
    );
    await registered;
    if (!workerId) throw new Error('graphile-worker started without creating a worker pool');
    return { runner, workerId, done };
  };

  let current: Launched | undefined;
  let restarting: Promise<void> | undefined;
  const stopRequested = new Promise<void>((resolve) => stopController.signal.addEventListener('abort', () => resolve()));
  const waitOrStop = (p: Promise<void>) => Promise.race([p, stopRequested]);

  /** Starts a new runner whenever the current one ends by itself, once the database answers again. */
  const supervise = (r: Launched) => {
    current = r;
    void r.done.then((err) => {
      if (stopping) return;
      current = undefined;
      if (isDatabaseUnavailable(err)) watch.unreachable('worker', err);
      else logger.error({ event: 'worker.runner_stopped', err: err === undefined ? 'no reason given' : errorMessage(err) });
      // Let it release its cron; it takes no more jobs, and what it still holds is unlocked now.
      r.runner.stop().catch(() => {});
      void heartbeat.retire(r.workerId);
      restarting = relaunch();
    });
  };

  const relaunch = async () => {
    for (let delay = 500; !stopping; delay = Math.min(delay * 2, 10000)) {
      await waitOrStop(watch.whenReachable());
      if (stopping) return;
      try {
        const next = await launch();
        if (stopping) {
          await next.runner.stop();
          await heartbeat.retire(next.workerId);
          return;
        }
        logger.info({ event: 'worker.restarted', workerId: next.workerId });
        supervise(next);
        return;
      } catch (err) {
        if (isDatabaseUnavailable(err)) watch.unreachable('worker', err);
        else logger.error({ event: 'worker.restart_failed', err: errorMessage(err) });
        await waitOrStop(new Promise((r) => setTimeout(r, delay)));
      }
    }
  };

  heartbeat.start();
  try {
    supervise(await launch());
  } catch (err) {
    await heartbeat.stop();
    await pool.end();
    throw err;
  }

  return {
    health: () => ({
      status: stopping ? 'stopped' : current ? 'running' : 'restarting',
      lastHeartbeatAt: heartbeat.lastBeatAt ?? null,
    }),
    async stop() {
      stopping = true;
      stopController.abort();
      if (!opts.watch) watch.close();
      const r = current;
      current = undefined;
      await restarting;
      if (r) {
        // A runner that had already given up may never report that it stopped: its end is enough.
        await Promise.race([r.runner.stop(), r.done]);
        await settled(pool);
        await heartbeat.retire(r.workerId);
      }
      await heartbeat.stop();
      await pool.end();
    },
  };
}

/**
 * A job that meets the database away waits for it (up to a minute, or until shutdown) and runs
 * again, rather than failing an attempt and backing off exponentially: after an outage of a few
 * seconds the queue resumes at once, not minutes later. Every task may run again: it either
 * committed its work or did nothing (send_email guards the step after its SMTP call itself).
 *
 * A batch job (its payload an array: a bulletin's released messages, see addSendJobBatches) runs
 * each entry as a job of its own, side by side, each waiting for the database on its own; their
 * promises go back to graphile-worker, which completes the job when all are done and otherwise
 * queues it again with the failed entries alone (one attempt spent, as for a job of one).
 */
function patiently(tasks: TaskList, watch: DatabaseWatch): TaskList {
  return Object.fromEntries(
    Object.entries(tasks).map(([name, task]) => {
      if (!task) return [name, task];
      const once = (payload: unknown, helpers: JobHelpers) =>
        untilDatabaseAnswers(watch, async () => void (await task(payload, helpers)), {
          maxWaitMs: JOB_WAITS_FOR_DATABASE_MS,
          signal: helpers.abortSignal,
          source: 'job',
        });
      const patient: Task = (payload, helpers) =>
        Array.isArray(payload) ? payload.map((entry) => once(entry, helpers)) : once(payload, helpers);
      return [name, patient];
    }),
  ) as TaskList;
}

/**
 * graphile-worker records a finished job without awaiting it, so runner.stop() can resolve while
 * that write still waits for or holds a connection. Ending the pool then would drop the write and
 * leave the job locked though its work is done. Wait until every client is back.
 */
async function settled(pool: pg.Pool, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((pool.waitingCount > 0 || pool.idleCount < pool.totalCount) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
