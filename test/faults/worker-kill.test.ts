import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Db } from '../../src/db.js';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { sampleNotice } from '../helpers/emails.js';
import { insertPopulation, noticeCounts, noticeRun, publishWithFanout } from '../helpers/fanout.js';
import { startFaultRig, STALE_S, type FaultRig } from '../helpers/fault-rig.js';
import { eventually, type AppProcess } from '../helpers/processes.js';
import type { SmtpSink } from '../helpers/smtp.js';

/**
 * Standalone workers (`npm run worker`) killed with SIGKILL in the middle of a policy notice
 * fan-out — no chance to release anything — and a new worker started. The worker heartbeat is
 * set short here (1 s, taken for dead after 3 s) so the recovery is measured in seconds; the
 * defaults are 10 s and 60 s.
 */
/** Kill to first re-run: the stale period, a beat, a poll, and a new worker's start on a busy machine. */
const RECOVERY_BOUND_MS = 30000;

let rig: FaultRig;
let smtp: SmtpSink;
beforeAll(async () => {
  rig = await startFaultRig();
  smtp = rig.smtp;
});
afterAll(() => rig.close());

const database = () => rig.database();
const startWorker = (url: string) => rig.worker(url);

async function kill(p: AppProcess): Promise<number> {
  p.child.kill('SIGKILL');
  await p.exited;
  return Date.now();
}

const count = async (db: Db, table: string, where: Record<string, unknown>) =>
  Number(((await db(table).where(where).count({ n: '*' })) as { n: number }[])[0]?.n);

async function lockedJobs(db: Db, task: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: number }[] }>(
    'SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = ? AND locked_by IS NOT NULL',
    [task],
  );
  return rows[0]?.n ?? 0;
}

/** Every reachable member notified once, plus at most `allowedDuplicates` second copies; the run finished. */
async function expectEveryoneNotified(db: Db, versionId: number, emails: string[], allowedDuplicates: number): Promise<number> {
  await eventually(async () => (await noticeRun(db, versionId))?.finished_at, 'the notice run to finish');
  await eventually(async () => emails.every((e) => noticeCounts(smtp).has(e)) || undefined, 'every member to get the notice');
  await eventually(async () => (await db('email_messages').where({ status: 'queued' }).first()) === undefined, 'the outbox to drain');
  // A message cut off at the kill reaches the sink when the slow server finishes with it.
  await eventually(async () => smtp.inFlight() === 0 || undefined, 'the SMTP server to finish what it received');
  expect(await count(db, 'policy_notices', { policy_version_id: versionId })).toBe(emails.length);
  expect(await count(db, 'email_messages', { kind: 'policy_notice', status: 'sent' })).toBe(emails.length);
  const counts = noticeCounts(smtp);
  const duplicates = emails.filter((e) => (counts.get(e) ?? 0) > 1);
  expect(emails.filter((e) => (counts.get(e) ?? 0) > 2)).toEqual([]);
  expect(duplicates.length).toBeLessThanOrEqual(allowedDuplicates);
  expect(await lockedJobs(db, 'send_email')).toBe(0);
  return duplicates.length;
}

describe('a worker killed mid fan-out', () => {
  it('C7: SIGKILL while a notice batch is in flight: a new worker re-runs that batch within the bound, and every member is notified once', async () => {
    const t = await database();
    const people = await insertPopulation(t.db, 400, 'batch');
    smtp.messages.length = 0;
    smtp.setDelay(0);
    const versionId = await publishWithFanout(t.db, 50);

    // Hold the sixth batch: an uncommitted notice row for one of its members makes its insert wait.
    const blocker = await t.db.transaction();
    await blocker('policy_notices').insert({
      policy_version_id: versionId,
      member_id: people.memberIds[270],
      left_out_reason: 'not_deliverable',
    });
    const first = await startWorker(t.url);
    await eventually(
      async () =>
        (await count(t.db, 'policy_notices', { policy_version_id: versionId })) === 250 &&
        // Only the sixth batch's job left, and taken: the fifth's is completed (a finished job
        // can still show as locked until its completion is written).
        (await count(t.db, 'graphile_worker.jobs', { task_identifier: 'policy_notice_batch' })) === 1 &&
        (await lockedJobs(t.db, 'policy_notice_batch')) === 1,
      'five batches done and the sixth in flight',
    );
    const sendsInFlight = await lockedJobs(t.db, 'send_email');
    const killedAt = await kill(first);
    await blocker.rollback();
    // The dead worker's batch is still there, locked by it: graphile-worker alone would wait four hours.
    const { rows: batch } = await t.db.raw(
      "SELECT attempts, locked_by IS NOT NULL AS locked FROM graphile_worker.jobs WHERE task_identifier = 'policy_notice_batch'",
    );
    expect(batch).toEqual([{ attempts: 1, locked: true }]);

    await startWorker(t.url);
    await eventually(
      async () => (await count(t.db, 'policy_notices', { policy_version_id: versionId })) > 250,
      'the killed worker’s batch to run again',
      RECOVERY_BOUND_MS,
    );
    const recoveredMs = Date.now() - killedAt;
    const duplicates = await expectEveryoneNotified(t.db, versionId, [...people.emails.values()], sendsInFlight);
    process.stdout.write(
      `kill during a batch: batch re-run ${recoveredMs} ms after the kill, all 400 notified ${Date.now() - killedAt} ms after; ` +
        `${sendsInFlight} sends in flight at the kill, ${duplicates} duplicates\n`,
    );
  }, 180000);

  it('C7: SIGKILL while sends are in flight: a new worker sends them again within the bound; only those may be duplicated', async () => {
    const t = await database();
    const people = await insertPopulation(t.db, 200, 'sends');
    smtp.messages.length = 0;
    smtp.setDelay(4000);
    const versionId = await publishWithFanout(t.db, 50);
    const first = await startWorker(t.url);
    // Four sends (the worker's concurrency) whole at the SMTP server, waiting for its answer.
    await eventually(async () => smtp.inFlight() >= 4 || undefined, 'four sends in flight');
    const handedToSmtp = smtp.inFlight();
    const cutOffTo = smtp.inFlightRecipients();
    const killedAt = await kill(first);
    // Locked with it: the sends in flight, and the jobs claimed with them into its local queue,
    // which had not started (only the sends in flight may arrive twice, checked below).
    expect(await lockedJobs(t.db, 'send_email')).toBeGreaterThanOrEqual(handedToSmtp);
    const cutOff = (await t.db('email_messages').whereIn('recipient', cutOffTo).pluck('id')) as string[];
    expect(cutOff).toHaveLength(handedToSmtp);
    smtp.setDelay(0);

    await startWorker(t.url);
    await eventually(
      async () => (await t.db('email_messages').whereIn('id', cutOff).where({ status: 'sent' })).length === cutOff.length || undefined,
      'the killed worker’s sends to be made again',
      RECOVERY_BOUND_MS,
    );
    const recoveredMs = Date.now() - killedAt;
    const duplicates = await expectEveryoneNotified(t.db, versionId, [...people.emails.values()], handedToSmtp);
    process.stdout.write(
      `kill during sends: ${handedToSmtp} sends cut off, re-sent within ${recoveredMs} ms of the kill, ${duplicates} duplicates\n`,
    );
  }, 180000);
});

describe('a live worker keeps its jobs', () => {
  it('a send that takes longer than the stale period is not taken from a worker that is alive', async () => {
    const t = await database();
    smtp.messages.length = 0;
    smtp.setDelay(STALE_S * 1000 * 2);
    const [slow, other] = [await startWorker(t.url), await startWorker(t.url)];
    const memberId = (await t.db('members').insert({ email: 'patient@example.org', status: 'active' }).returning('id'))[0].id as string;
    const id = await t.db.transaction((trx) =>
      enqueueEmail(trx, sampleNotice('patient@example.org', memberId), { messageIdHost: 'assent.test', maxAttempts: 3 }),
    );
    await eventually(async () => smtp.inFlight() === 1 || undefined, 'the send to reach the slow SMTP server');
    await eventually(
      async () => (await t.db('email_messages').where({ id }).first())?.status === 'sent' || undefined,
      'the slow send to finish',
    );
    // One more stale period in which another worker could still take it.
    await new Promise((r) => setTimeout(r, STALE_S * 1000));
    expect(smtp.messages.filter((m) => m.envelopeTo.includes('patient@example.org'))).toHaveLength(1);
    expect(await t.db('email_messages').where({ id }).first()).toMatchObject({ status: 'sent', attempts: 1 });
    for (const p of [slow, other]) {
      expect(p.logs().filter((l) => l.event === 'worker.unlocked_dead_workers')).toEqual([]);
      expect(await p.stop()).toBe(0);
    }
    expect(await t.db('worker_heartbeats')).toEqual([]);
    smtp.setDelay(0);
  }, 120000);
});
