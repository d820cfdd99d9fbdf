import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Task } from 'graphile-worker';
import { loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db.js';
import { startRuntime } from '../../src/deps.js';
import { startWorker } from '../../src/mail/worker.js';
import { createLogger } from '../../src/shared/logger.js';
import { insertPopulation, noticeCounts, noticeRun, publishWithFanout } from '../helpers/fanout.js';
import { startFaultRig, type FaultRig } from '../helpers/fault-rig.js';
import { eventually, type AppProcess } from '../helpers/processes.js';

/**
 * A worker whose machine vanished, whose network was cut, or that is frozen, in the middle of a
 * notice batch's transaction: its session stays open, idle inside the transaction, holding the
 * batch's new rows locked, and nothing on its side will ever end it. The batch's re-run claims the
 * same rows (INSERT … ON CONFLICT) and would wait on those locks until PostgreSQL dropped the dead
 * session — never while the frozen process's kernel still answers TCP keepalives. Every session
 * Assent opens sets idle_in_transaction_session_timeout, so PostgreSQL ends it and the re-run goes
 * through. Here the timeout is 2 s (30 s by default); the frozen worker is a real `npm run worker`
 * stopped with SIGSTOP.
 */
const IDLE_IN_TRANSACTION_S = 2;
const MEMBERS = 120;
const BATCH = 30;
const SETTINGS = { DATABASE_IDLE_IN_TRANSACTION_SECONDS: String(IDLE_IN_TRANSACTION_S), DATABASE_KEEPALIVE_SECONDS: '10' };

let rig: FaultRig;
beforeAll(async () => {
  rig = await startFaultRig();
});
afterAll(() => rig.close());

const count = async (db: Db, table: string, where: Record<string, unknown>) =>
  Number(((await db(table).where(where).count({ n: '*' })) as { n: number }[])[0]?.n);

interface Backend {
  pid: number;
  state: string;
  wait_event_type: string | null;
  state_change: Date;
  now: Date;
}

/** The session whose claim of a notice row waits for a lock (or, by pid, that session now), as PostgreSQL sees it. */
async function batchSession(db: Db, pid?: number): Promise<Backend | undefined> {
  const { rows } = await db.raw<{ rows: Backend[] }>(
    `SELECT pid, state, wait_event_type, state_change, clock_timestamp() AS now FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND ${pid ? 'pid = ?' : `query ILIKE 'insert into "policy_notices"%' AND wait_event_type = 'Lock'`}`,
    pid ? [pid] : [],
  );
  return rows[0];
}

describe('a worker that vanishes inside a batch transaction', () => {
  it('every session of the app and of its job runner has the idle-in-transaction timeout and TCP keepalive', async () => {
    const t = await rig.database();
    const config = loadConfig({ NODE_ENV: 'test', ...rig.env(t.url, SETTINGS) });
    const rt = await startRuntime(config, createLogger('silent'));
    const show = `SELECT current_setting('idle_in_transaction_session_timeout') AS idle,
                         current_setting('tcp_keepalives_idle') AS keepalive_idle,
                         current_setting('tcp_keepalives_interval') AS keepalive_interval,
                         current_setting('tcp_keepalives_count') AS keepalive_count`;
    const expected = { idle: '2s', keepalive_idle: '10', keepalive_interval: '5', keepalive_count: '3' };
    let fromRunner: unknown;
    const showSettings: Task = async (_payload, helpers) => {
      fromRunner = (await helpers.query(show)).rows[0];
    };
    const worker = await startWorker({
      watch: rt.watch,
      connectionString: rt.databaseUrl,
      config,
      db: rt.db,
      mailer: rt.mailer,
      mailFrom: config.mailFrom,
      logger: rt.logger,
      concurrency: 1,
      pollInterval: 200,
      tasks: { show_settings: showSettings },
    });
    try {
      // The knex pool (requests, and every job's own queries), the session store's pool, and the job runner's pool.
      expect((await rt.db.raw(show)).rows[0]).toEqual(expected);
      expect((await rt.sessionPool.query(show)).rows[0]).toEqual(expected);
      await t.db.raw(`SELECT graphile_worker.add_job('show_settings', '{}'::json)`);
      await eventually(async () => fromRunner, 'the job to read its settings', 20000);
      expect(fromRunner).toEqual(expected);
      // Left idle inside a transaction, a session of the app's pool is ended by PostgreSQL.
      const trx = await rt.db.transaction();
      await trx.raw('SELECT 1');
      await new Promise((r) => setTimeout(r, (IDLE_IN_TRANSACTION_S + 1) * 1000));
      await expect(trx.raw('SELECT 1')).rejects.toThrow(/idle-in-transaction timeout|Connection terminated|not queryable/);
      await trx.rollback().catch(() => {});
    } finally {
      await worker.stop();
      await rt.stop();
    }
  }, 60000);

  it('a frozen worker’s open batch transaction is ended by PostgreSQL within the timeout, and the live worker re-runs the batch and finishes the fan-out', async () => {
    const t = await rig.database();
    const people = await insertPopulation(t.db, MEMBERS, 'frozen');
    const smtp = rig.smtp;
    smtp.messages.length = 0;
    smtp.setDelay(0);
    const versionId = await publishWithFanout(t.db, BATCH);

    // The third batch is held at its 11th member: its claim waits for this uncommitted row.
    const blocker = await t.db.transaction();
    await blocker('policy_notices').insert({
      policy_version_id: versionId,
      member_id: people.memberIds[2 * BATCH + 10],
      left_out_reason: 'not_deliverable',
    });
    const workers = await Promise.all([rig.worker(t.url, SETTINGS), rig.worker(t.url, SETTINGS)]);
    let frozen: AppProcess | undefined;
    try {
      const waiting = await eventually(async () => {
        if ((await count(t.db, 'policy_notices', { policy_version_id: versionId })) !== 2 * BATCH) return undefined;
        return batchSession(t.db);
      }, 'two batches done and the third waiting');
      // The worker running the third batch (its heartbeat row names its process) stops answering:
      // frozen, its batch transaction open; the other worker lives on.
      const { rows: holder } = await t.db.raw<{ rows: { pid: number }[] }>(
        `SELECT h.pid FROM graphile_worker.jobs j JOIN worker_heartbeats h ON h.worker_id = j.locked_by
          WHERE j.task_identifier = 'policy_notice_batch'`,
      );
      const found = workers.find((w) => w.child.pid === holder[0]?.pid);
      if (!found?.child.pid) throw new Error(`neither worker holds the third batch: ${JSON.stringify(holder)}`);
      frozen = found;
      const frozenPid = found.child.pid;
      found.child.kill('SIGSTOP');
      const frozenAt = Date.now();
      const sendsInFlight = await t.db.raw<{ rows: { n: number }[] }>(
        `SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'send_email' AND locked_by = ANY(
           SELECT worker_id FROM worker_heartbeats WHERE pid = ?)`,
        [frozenPid],
      );
      await blocker.rollback();

      // The frozen worker's session goes on: its claim of the batch's first members is done, uncommitted, locked.
      const idle = await eventually(async () => {
        const s = await batchSession(t.db, waiting.pid);
        return s?.state === 'idle in transaction' ? s : undefined;
      }, 'the frozen worker’s session to sit idle in its transaction');
      let lastSeen = idle;
      const goneAt = await eventually(async () => {
        const s = await batchSession(t.db, waiting.pid);
        if (s) {
          lastSeen = s;
          return undefined;
        }
        return ((await t.db.raw<{ rows: { now: Date }[] }>('SELECT clock_timestamp() AS now')).rows[0] as { now: Date }).now;
      }, 'PostgreSQL to end the frozen worker’s session');
      const endedAfterMs = goneAt.getTime() - lastSeen.state_change.getTime();
      expect(lastSeen.state).toBe('idle in transaction');
      expect(endedAfterMs).toBeGreaterThanOrEqual(IDLE_IN_TRANSACTION_S * 1000 - 100);
      expect(endedAfterMs).toBeLessThan(IDLE_IN_TRANSACTION_S * 1000 + 2000);
      // Its work died with it: the third batch left nothing.
      expect(await count(t.db, 'policy_notices', { policy_version_id: versionId })).toBe(2 * BATCH);

      // The live worker takes the frozen one for dead (its heartbeat stopped too) and re-runs the batch.
      await eventually(
        async () => (await count(t.db, 'policy_notices', { policy_version_id: versionId })) > 2 * BATCH,
        'the third batch to run again',
        30000,
      );
      const rerunMs = Date.now() - frozenAt;
      await eventually(async () => (await noticeRun(t.db, versionId))?.finished_at, 'the notice run to finish', 30000);
      const emails = [...people.emails.values()];
      await eventually(async () => emails.every((e) => noticeCounts(smtp).has(e)) || undefined, 'every member to get the notice');
      await eventually(async () => (await t.db('email_messages').where({ status: 'queued' }).first()) === undefined, 'the outbox to drain');
      expect(await count(t.db, 'policy_notices', { policy_version_id: versionId })).toBe(MEMBERS);
      expect(await count(t.db, 'email_messages', { kind: 'policy_notice', status: 'sent' })).toBe(MEMBERS);
      const counts = noticeCounts(smtp);
      const duplicates = emails.filter((e) => (counts.get(e) ?? 0) > 1);
      // Only a send the frozen worker had in hand may have gone twice.
      expect(duplicates.length).toBeLessThanOrEqual(sendsInFlight.rows[0]?.n ?? 0);
      expect(emails.filter((e) => (counts.get(e) ?? 0) > 2)).toEqual([]);
      process.stdout.write(
        `frozen worker: its idle transaction ended ${endedAfterMs} ms after it went idle (timeout ${IDLE_IN_TRANSACTION_S} s); ` +
          `batch re-run ${rerunMs} ms after the freeze, all ${MEMBERS} notified ${Date.now() - frozenAt} ms after; ${duplicates.length} duplicates\n`,
      );
    } finally {
      await blocker.rollback().catch(() => {});
      // A vanished machine never comes back: the frozen process is ended without a chance to act.
      if (frozen) {
        frozen.child.kill('SIGKILL');
        await frozen.exited;
      }
    }
  }, 120000);
});
