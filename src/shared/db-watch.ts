import type { Logger } from './logger.js';

/**
 * SQLSTATE classes and codes, and socket errors, that mean "the database cannot be reached right
 * now" rather than "this query is wrong": connection exceptions (class 08), the server shutting
 * down or starting up (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now),
 * too many connections (53300), and the network's own refusals.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|Connection ended unexpectedly|connection error and is not queryable|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection|the database system is (shutting down|starting up|in recovery mode)|terminating connection due to administrator command|Client was closed and is not queryable/i;

/**
 * A bare log message (knex's, graphile-worker's) names the socket error only in its text. An
 * error object is judged by its code instead: an SMTP client's error also says "ECONNREFUSED"
 * in its message, and must not pass for the database being away.
 */
const UNAVAILABLE_TEXT = new RegExp(`${UNAVAILABLE_MESSAGES.source}|\\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\\b`, 'i');

/**
 * graphile-worker's own error when a stopping runner could not hand its claimed jobs back: it
 * carries the database's error only as text ("…to database queue: connect ECONNRESET …"), and is
 * about the database queue alone, so its text is judged as a bare message's.
 */
const RETURNING_JOBS = /returning jobs from local queue to database queue/i;

/** True when err (or what caused it) says the database is unreachable, not that a query failed. */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (err === null || err === undefined || depth > 4) return false;
  if (typeof err === 'string') return UNAVAILABLE_TEXT.test(err);
  if (typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  if (typeof e.message === 'string' && RETURNING_JOBS.test(e.message) && UNAVAILABLE_TEXT.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return errorMessage(err.errors[0]);
  return err instanceof Error ? err.message : String(err);
}

/** How long after an outage a failing connection is first checked against the database. */
const STALE_CONNECTION_WINDOW_MS = 10_000;

/**
 * One per process. Whatever meets the database unreachable (a request, a job, a pool's idle
 * connection, the heartbeat) reports it here; the first report of an outage is logged, the rest
 * only at debug level, and the watch then probes every second until the database answers again
 * and logs that once, with how long it was away. So an outage is two log lines, not one per job.
 */
export class DatabaseWatch {
  private downSince: number | undefined;
  private probe: (() => Promise<unknown>) | undefined;
  private probing = false;
  private confirming = false;
  private backAt: number | undefined;
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly probeIntervalMs = 1000,
  ) {}

  /** How to check that the database answers (a SELECT 1); without one, the next success report ends the outage. */
  setProbe(probe: () => Promise<unknown>): void {
    this.probe = probe;
  }

  get reachable(): boolean {
    return this.downSince === undefined;
  }

  /** When the current outage was first noticed, if there is one. */
  get unreachableSince(): Date | undefined {
    return this.downSince === undefined ? undefined : new Date(this.downSince);
  }

  unreachable(source: string, err: unknown): void {
    // Shutting down: a pool's end() settles before its sockets have closed, so a connection still
    // closing when the embedded PostgreSQL stops (last) hears "terminating connection". No outage.
    if (this.downSince !== undefined || this.confirming || this.closed) {
      this.logger.debug({ event: 'db.still_unreachable', source, err: errorMessage(err) });
      return;
    }
    // Just after an outage, a connection opened before it can still fail on its first use: ask
    // the database before calling it a new outage, so one restart is one outage in the log.
    if (this.backAt !== undefined && Date.now() - this.backAt < STALE_CONNECTION_WINDOW_MS && this.probe) {
      void this.confirmOutage(source, err);
      return;
    }
    this.markDown(source, err);
  }

  private markDown(source: string, err: unknown, since = Date.now()): void {
    this.downSince = since;
    this.logger.warn({ event: 'db.unreachable', source, err: errorMessage(err) });
    void this.probeUntilBack();
  }

  private async confirmOutage(source: string, err: unknown): Promise<void> {
    const noticedAt = Date.now();
    this.confirming = true;
    try {
      await this.probe!();
      this.logger.debug({ event: 'db.stale_connection', source, err: errorMessage(err) });
    } catch {
      if (!this.closed && this.downSince === undefined) this.markDown(source, err, noticedAt);
    } finally {
      this.confirming = false;
    }
  }

  /** Resolves once the database answers (at once if it does now). */
  whenReachable(): Promise<void> {
    if (this.downSince === undefined || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** True once the process is shutting down: nobody should wait for the database any more. */
  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.waiters.splice(0).forEach((w) => w());
  }

  private async probeUntilBack(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      while (this.downSince !== undefined && !this.closed) {
        await new Promise((r) => setTimeout(r, this.probeIntervalMs).unref());
        if (this.closed) return;
        try {
          await this.probe?.();
        } catch {
          continue;
        }
        const downMs = Date.now() - this.downSince;
        this.downSince = undefined;
        this.backAt = Date.now();
        this.logger.info({ event: 'db.reachable', downMs });
        this.waiters.splice(0).forEach((w) => w());
      }
    } finally {
      this.probing = false;
    }
  }
}

/**
 * Runs fn, and while it fails only because the database is away, waits for the database and
 * runs it again — for at most maxWaitMs, and not after signal aborts (a shutdown). fn must be
 * safe to run again (it is a job step that either committed or did nothing).
 */
export async function untilDatabaseAnswers<T>(
  watch: DatabaseWatch,
  fn: () => Promise<T>,
  opts: { maxWaitMs: number; signal?: AbortSignal; source: string },
): Promise<T> {
  const deadline = Date.now() + opts.maxWaitMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() >= deadline || opts.signal?.aborted || watch.isClosed) throw err;
      watch.unreachable(opts.source, err);
      await new Promise((r) => setTimeout(r, 200));
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, Math.min(deadline - Date.now(), 30000)));
        opts.signal?.addEventListener('abort', done);
        void watch.whenReachable().then(done);
      });
    }
  }
}
