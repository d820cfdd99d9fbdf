import { hostname } from 'node:os';
import pg from 'pg';
import type { DatabaseSessionConfig } from '../config.js';
import { errorMessage, isDatabaseUnavailable, type DatabaseWatch } from '../shared/db-watch.js';
import { pgSessionOptions } from '../shared/pg-session.js';
import type { Logger } from '../shared/logger.js';

export interface HeartbeatOptions {
  connectionString: string;
  logger: Logger;
  watch: DatabaseWatch;
  /** How often this process says its runners are alive, and looks for runners that are not. */
  intervalMs: number;
  /** A runner silent for this long is taken for dead and its jobs are unlocked. */
  staleMs: number;
  /** Keepalive and idle-in-transaction timeout of its connection (shared/pg-session.ts). */
  session?: DatabaseSessionConfig;
}

/**
 * graphile-worker locks each job with its worker pool's id and leaves a job locked by a pool that
 * died for four hours. Every process that runs a job runner keeps a row per live pool in
 * worker_heartbeats fresh, and unlocks, with graphile-worker's own force_unlock_workers, the jobs
 * of pools whose row has gone stale (or that never wrote one) — so a job held by a worker that
 * was killed, cut off or whose machine vanished runs again within staleMs + intervalMs (plus a
 * poll). The beat runs on its own connection and timer, not in the job loop: a worker busy with a
 * slow SMTP server keeps beating, and its job is not taken from it.
 *
 * After an outage of its own, a process waits one stale period before unlocking anything, and
 * nothing is unlocked until PostgreSQL itself has been up that long, so runners that were only
 * cut off with everyone else have time to beat again first.
 */
export class WorkerHeartbeat {
  private readonly pool: pg.Pool;
  private readonly live = new Set<string>();
  private readonly beaten = new Set<string>();
  /** This process's pools that stopped without releasing their jobs: unlocked at the next beat. */
  private readonly dead = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private lastBeat: Date | undefined;
  private lastFailure: number | undefined;

  constructor(private readonly opts: HeartbeatOptions) {
    this.pool = new pg.Pool({
      connectionString: opts.connectionString,
      max: 1,
      connectionTimeoutMillis: Math.max(1000, opts.intervalMs),
      statement_timeout: Math.max(2000, opts.intervalMs * 2),
      application_name: 'assent-heartbeat',
      ...pgSessionOptions(opts.session),
    });
    this.pool.on('error', (err) => this.trouble(err));
  }

  /** When this process last recorded that its runners are alive. */
  get lastBeatAt(): Date | undefined {
    return this.lastBeat;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** A runner of this process started: beat for it at once, so no job it takes goes unclaimed. */
  async add(workerId: string): Promise<void> {
    this.live.add(workerId);
    await this.tick();
  }

  /**
   * A runner of this process has stopped: whatever it still holds (it may have died with the
   * database away, unable to release its jobs) is unlocked and its row removed as soon as the
   * database answers. Nobody else can hold jobs under its id, so this needs no waiting.
   */
  retire(workerId: string): Promise<void> {
    this.live.delete(workerId);
    this.beaten.delete(workerId);
    this.dead.add(workerId);
    return this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    for (const id of this.live) this.dead.add(id);
    this.live.clear();
    await this.tick().catch(() => {});
    await this.pool.end();
  }

  /** One beat at a time (a slow database must not pile them up); asked for during one, one more follows. */
  tick(): Promise<void> {
    if (this.running) {
      this.again ??= this.running.then(() => {
        this.again = undefined;
        return this.tick();
      });
      return this.again;
    }
    this.running = this.beat().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async beat(): Promise<void> {
    try {
      if (this.live.size) await this.recordAlive();
      if (this.dead.size) await this.release([...this.dead]);
      const quietFor = this.lastFailure === undefined ? Infinity : Date.now() - this.lastFailure;
      if (quietFor > this.opts.staleMs) await this.sweep();
      this.lastBeat = new Date();
    } catch (err) {
      this.lastFailure = Date.now();
      this.trouble(err);
    }
  }

  private async recordAlive(): Promise<void> {
    const ids = [...this.live];
    const { rows } = await this.pool.query<{ worker_id: string; inserted: boolean }>(
      `INSERT INTO worker_heartbeats (worker_id, host, pid) SELECT unnest($1::text[]), $2, $3
       ON CONFLICT (worker_id) DO UPDATE SET last_beat_at = now()
       RETURNING worker_id, (xmax = 0) AS inserted`,
      [ids, hostname(), process.pid],
    );
    for (const row of rows) {
      // A row that had to be written again was swept: this runner was taken for dead (cut off
      // from the database for longer than the stale period), and its jobs may have run elsewhere.
      if (row.inserted && this.beaten.has(row.worker_id)) {
        this.opts.logger.warn({ event: 'worker.was_taken_for_dead', workerId: row.worker_id });
      }
      this.beaten.add(row.worker_id);
    }
  }

  /** Our own runners that are gone: unlocking their jobs is safe at once, nobody else holds them. */
  private async release(ids: string[]): Promise<void> {
    await this.pool.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [ids]);
    await this.pool.query('DELETE FROM worker_heartbeats WHERE worker_id = ANY($1::text[])', [ids]);
    for (const id of ids) this.dead.delete(id);
  }

  /**
   * Runners that stopped beating (or never did) while holding jobs: their jobs are unlocked and
   * their rows removed in one transaction. A job that had used its last attempt when its runner
   * died gets one more, as the attempt never finished.
   */
  private async sweep(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ worker_id: string }>(
        `WITH settled AS (
           SELECT now() - pg_postmaster_start_time() > make_interval(secs => $1) AS up_long_enough
         ), stale AS (
           SELECT worker_id FROM worker_heartbeats
            WHERE last_beat_at < now() - make_interval(secs => $1) AND worker_id <> ALL($2::text[])
              FOR UPDATE SKIP LOCKED
         ), unknown AS (
           SELECT DISTINCT j.locked_by AS worker_id FROM graphile_worker.jobs j
            WHERE j.locked_by IS NOT NULL AND j.locked_at < now() - make_interval(secs => $1)
              AND j.locked_by <> ALL($2::text[])
              AND NOT EXISTS (SELECT 1 FROM worker_heartbeats h WHERE h.worker_id = j.locked_by)
         )
         SELECT worker_id FROM (SELECT worker_id FROM stale UNION SELECT worker_id FROM unknown) w, settled
          WHERE settled.up_long_enough`,
        // Never this process's own live runners: however late its timer fired, they are alive.
        [this.opts.staleMs / 1000, [...this.live]],
      );
      const ids = rows.map((r) => r.worker_id);
      if (ids.length) {
        const { rows: jobs } = await client.query<{ id: string; task_identifier: string; attempts: number; max_attempts: number }>(
          `SELECT id, task_identifier, attempts, max_attempts FROM graphile_worker.jobs WHERE locked_by = ANY($1::text[])`,
          [ids],
        );
        await client.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [ids]);
        const exhausted = jobs.filter((j) => j.attempts >= j.max_attempts);
        for (const j of exhausted) {
          await client.query('SELECT graphile_worker.reschedule_jobs(ARRAY[$1::bigint], max_attempts => $2)', [j.id, j.attempts + 1]);
        }
        await client.query('DELETE FROM worker_heartbeats WHERE worker_id = ANY($1::text[])', [ids]);
        if (jobs.length || ids.length) {
          this.opts.logger.warn({
            event: 'worker.unlocked_dead_workers',
            workerIds: ids,
            jobs: jobs.map((j) => ({ id: j.id, task: j.task_identifier })),
          });
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  private trouble(err: unknown): void {
    if (isDatabaseUnavailable(err)) this.opts.watch.unreachable('worker heartbeat', err);
    else this.opts.logger.error({ event: 'worker.heartbeat_failed', err: errorMessage(err) });
  }
}
