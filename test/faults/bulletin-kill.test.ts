import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { insertStaffUser } from '../../src/auth/staff.repository.js';
import { confirmSend, createBulletin } from '../../src/bulletins/bulletins.service.js';
import { loadConfig } from '../../src/config.js';
import { makeServiceContext } from '../../src/context.js';
import type { Db } from '../../src/db.js';
import type { TestDatabase } from '../helpers/db.js';
import { insertPopulation, type Population } from '../helpers/fanout.js';
import { startFaultRig, type FaultRig } from '../helpers/fault-rig.js';
import { sendJobMessages } from '../helpers/jobs.js';
import { eventually, startProcess, type AppProcess } from '../helpers/processes.js';

/**
 * A real worker process (`npm run worker`) sending a bulletin is killed with SIGKILL — while the
 * SMTP server holds messages it has received but not yet answered, in the middle of a snapshot
 * batch's transaction, and in the middle of a dispatch's transaction — and a new worker is
 * started. Every remaining message is delivered; the only ones a member may get twice are those
 * in flight at the instant of the kill (C3, C4).
 */
let rig: FaultRig;
const processes: AppProcess[] = [];
beforeAll(async () => {
  rig = await startFaultRig();
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await rig.close();
});

async function worker(url: string, sendRate = 1000): Promise<AppProcess> {
  const p = startProcess('src/worker.ts', rig.env(url, { SEND_RATE_PER_SECOND: String(sendRate) }));
  processes.push(p);
  await p.waitForLog((l) => l.event === 'worker.started', 'the worker to start');
  return p;
}

describe('a worker killed while sending a bulletin', () => {
  it('C3: SIGKILL mid-send: a new worker delivers every remaining message; only those in flight at the kill may arrive twice', async () => {
    const t = await rig.database();
    const people = await insertPopulation(t.db, 300, 'reader');
    const svc = makeServiceContext(loadConfig(rig.env(t.url, { SEND_RATE_PER_SECOND: '1000' })), t.db);
    const staffId = await insertStaffUser(t.db, {
      email: 'editor@example.org',
      name: 'Editor',
      role: 'editor',
      passwordHash: 'not used here',
    });
    const id = await createBulletin(svc, staffId, {
      topic_id: people.topicId,
      subject: 'Killed mid-send',
      preheader: '',
      body: 'Hello.',
      web_version: false,
    });
    const smtp = rig.smtp;
    smtp.messages.length = 0;
    smtp.setDelay(20);
    await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: 300 }, { batchSize: 50 });

    const first = await worker(t.url);
    // Some delivered, then the server holds what it receives: the kill comes with sends in flight.
    await eventually(async () => smtp.messages.length >= 40 || undefined, 'forty delivered');
    smtp.setDelay(5000);
    // Held 5 s each, not the 20 ms before (a message still in those is answered at once).
    await eventually(async () => (smtp.inFlight() === smtp.inFlight(5000) && smtp.inFlight() >= 4) || undefined, 'four sends in flight');
    first.child.kill('SIGKILL');
    await first.exited;
    // What the server holds unanswered now is exactly what was in flight at the kill (each held 5 s;
    // the dead worker starts no more, while until the kill another could begin).
    const inFlightAtKill = smtp.inFlightRecipients(5000);
    const sentBeforeKill = smtp.messages.length;
    smtp.setDelay(0);

    await worker(t.url);
    await eventually(
      async () => (await t.db('bulletins').where({ id }).first('status')).status === 'sent' || undefined,
      'the bulletin to be sent',
      120000,
    );
    await eventually(async () => smtp.inFlight() === 0 || undefined, 'the SMTP server to finish what it received');

    const counts = new Map<string, number>();
    for (const msg of smtp.messages.filter((x) => x.parsed.subject === 'Killed mid-send'))
      for (const to of msg.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
    const everyone = [...people.emails.values()];
    expect(everyone.filter((e) => !counts.has(e))).toEqual([]);
    const twice = everyone.filter((e) => (counts.get(e) ?? 0) > 1);
    expect(everyone.filter((e) => (counts.get(e) ?? 0) > 2)).toEqual([]);
    expect(twice.filter((e) => !inFlightAtKill.includes(e))).toEqual([]);
    expect(await t.db('email_messages').where({ kind: 'bulletin', status: 'sent' }).count({ n: '*' })).toEqual([{ n: 300 }]);
    expect(await t.db('bulletin_recipients').where({ bulletin_id: id }).count({ n: '*' })).toEqual([{ n: 300 }]);
    process.stdout.write(
      `bulletin kill: ${inFlightAtKill.length} in flight at the kill (${sentBeforeKill} delivered before), ${twice.length} delivered twice\n`,
    );
  }, 180000);
});

/** A bulletin to the population's topic, confirmed to go now, its snapshot in batches of batchSize. */
async function confirmedBulletin(t: TestDatabase, people: Population, subject: string, batchSize?: number): Promise<number> {
  const svc = makeServiceContext(loadConfig(rig.env(t.url)), t.db);
  const staffId = await insertStaffUser(t.db, {
    email: 'editor@example.org',
    name: 'Editor',
    role: 'editor',
    passwordHash: 'not used here',
  });
  const id = await createBulletin(svc, staffId, { topic_id: people.topicId, subject, preheader: '', body: 'Hello.', web_version: false });
  await confirmSend(svc, staffId, id, { when: 'now', at: undefined, audience: people.memberIds.length }, { batchSize });
  return id;
}

const count = async (db: Db, table: string, where: Record<string, unknown>) =>
  Number(((await db(table).where(where).count({ n: '*' })) as { n: number }[])[0]?.n);

/** A session of the worker whose statement (starting with `statement`) waits for a lock the test holds. */
async function waitingSession(db: Db, statement: string): Promise<number | undefined> {
  const { rows } = await db.raw<{ rows: { pid: number }[] }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE ?`,
    [`${statement}%`],
  );
  return rows[0]?.pid;
}

async function sessionGone(db: Db, pid: number): Promise<boolean> {
  const { rows } = await db.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_stat_activity WHERE pid = ?', [pid]);
  return rows.length === 0;
}

/** The recipients of the send jobs the worker held at the kill (a batch job's entries included): their messages may have reached SMTP, so only they may arrive twice. */
async function lockedSendRecipients(db: Db): Promise<string[]> {
  const ids = (await sendJobMessages(db)).filter((j) => j.locked_by !== null).flatMap((j) => j.emailIds);
  return ((await db('email_messages').whereIn('id', ids).select('recipient')) as { recipient: string }[]).map((r) => r.recipient);
}

async function kill(p: AppProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

/** The bulletin is sent: every member got it, none more than twice, and twice only those in `mayRepeat` (their sends were in flight at the kill). */
async function expectEveryoneOnce(db: Db, id: number, people: Population, subject: string, mayRepeat: string[]): Promise<number> {
  const smtp = rig.smtp;
  await eventually(
    async () => (await db('bulletins').where({ id }).first('status')).status === 'sent' || undefined,
    'the bulletin to be sent',
    120000,
  );
  await eventually(async () => smtp.inFlight() === 0 || undefined, 'the SMTP server to finish what it received');
  const counts = new Map<string, number>();
  for (const msg of smtp.messages.filter((x) => x.parsed.subject === subject))
    for (const to of msg.envelopeTo) counts.set(to, (counts.get(to) ?? 0) + 1);
  const everyone = [...people.emails.values()];
  expect(everyone.filter((e) => !counts.has(e))).toEqual([]);
  expect(everyone.filter((e) => (counts.get(e) ?? 0) > 2)).toEqual([]);
  const twice = everyone.filter((e) => (counts.get(e) ?? 0) > 1);
  expect(twice.filter((e) => !mayRepeat.includes(e))).toEqual([]);
  expect(await count(db, 'bulletin_recipients', { bulletin_id: id })).toBe(everyone.length);
  expect(await count(db, 'email_messages', { kind: 'bulletin', status: 'sent' })).toBe(everyone.length);
  return twice.length;
}

describe('a worker killed inside a bulletin’s snapshot or dispatch', () => {
  it('C3: SIGKILL inside a snapshot batch’s transaction: the batch leaves nothing, a new worker runs it again, the bulletin ends sent and each member gets it once (twice only if their send was in flight at the kill)', async () => {
    const t = await rig.database();
    const people = await insertPopulation(t.db, 300, 'snap');
    const subject = 'Killed mid-snapshot';
    rig.smtp.messages.length = 0;
    rig.smtp.setDelay(0);
    const id = await confirmedBulletin(t, people, subject, 50);
    // The fourth batch (members 150–199) is held at member 170: its claim waits for this uncommitted row.
    const blocker = await t.db.transaction();
    await blocker('bulletin_recipients').insert({ bulletin_id: id, member_id: people.memberIds[170], left_out_reason: 'suppressed' });
    const first = await worker(t.url);
    try {
      const pid = await eventually(
        async () =>
          (await count(t.db, 'bulletin_recipients', { bulletin_id: id })) === 150 &&
          waitingSession(t.db, 'insert into "bulletin_recipients"'),
        'three snapshot batches done and the fourth waiting inside its transaction',
      );
      await kill(first);
      const killedAt = Date.now();
      const inFlight = await lockedSendRecipients(t.db);
      await blocker.rollback();
      await eventually(async () => (await sessionGone(t.db, pid)) || undefined, 'the killed worker’s session to end');
      // Its transaction died with it: the fourth batch claimed nobody and made no message.
      expect(await count(t.db, 'bulletin_recipients', { bulletin_id: id })).toBe(150);
      expect(await count(t.db, 'email_messages', { kind: 'bulletin' })).toBe(150);

      await worker(t.url);
      await eventually(
        async () => (await count(t.db, 'bulletin_recipients', { bulletin_id: id })) > 150,
        'the snapshot batch to run again',
        30000,
      );
      const rerunMs = Date.now() - killedAt;
      const twice = await expectEveryoneOnce(t.db, id, people, subject, inFlight);
      process.stdout.write(
        `bulletin kill mid-snapshot: batch re-run ${rerunMs} ms after the kill, sent ${Date.now() - killedAt} ms after; ` +
          `${inFlight.length} sends in flight at the kill, ${twice} delivered twice\n`,
      );
    } finally {
      await blocker.rollback().catch(() => {});
    }
  }, 180000);

  it('C3: SIGKILL inside a dispatch’s transaction: nothing it released is kept, a new worker dispatches again, the bulletin ends sent and each member gets it once (twice only if their send was in flight at the kill)', async () => {
    const t = await rig.database();
    const people = await insertPopulation(t.db, 300, 'disp');
    const subject = 'Killed mid-dispatch';
    rig.smtp.messages.length = 0;
    rig.smtp.setDelay(0);
    const id = await confirmedBulletin(t, people, subject);
    // 50 a second: the dispatcher releases the held messages in member order, 50 at a time.
    const first = await worker(t.url, 50);
    await eventually(async () => (await count(t.db, 'bulletin_recipients', { bulletin_id: id })) === 300, 'the snapshot to be taken');
    // Member 200's message, still held, is locked here: the dispatch that releases it waits inside its transaction.
    const target = (await t.db('bulletin_recipients').where({ bulletin_id: id, member_id: people.memberIds[200] }).first()) as {
      email_message_id: string;
    };
    const blocker = await t.db.transaction();
    try {
      const locked = await blocker('email_messages').where({ id: target.email_message_id, held: true }).forUpdate().first('id');
      expect(locked).toBeDefined();
      const pid = await eventually(
        async () => waitingSession(t.db, 'update "email_messages"'),
        'a dispatch to wait inside its transaction',
      );
      const heldAtKill = await count(t.db, 'email_messages', { kind: 'bulletin', status: 'queued', held: true });
      await kill(first);
      const killedAt = Date.now();
      const inFlight = await lockedSendRecipients(t.db);
      await blocker.rollback();
      await eventually(async () => (await sessionGone(t.db, pid)) || undefined, 'the killed worker’s session to end');
      // Its transaction died with it: every message it was releasing is still held, with no send job.
      expect(await count(t.db, 'email_messages', { kind: 'bulletin', status: 'queued', held: true })).toBe(heldAtKill);
      expect(await t.db('email_messages').where({ id: target.email_message_id }).first('held', 'status')).toEqual({
        held: true,
        status: 'queued',
      });
      expect((await t.db('bulletins').where({ id }).first('status')).status).toBe('sending');

      await worker(t.url, 50);
      await eventually(
        async () => (await t.db('email_messages').where({ id: target.email_message_id }).first('held')).held === false || undefined,
        'a new dispatch to release the message',
        30000,
      );
      const rerunMs = Date.now() - killedAt;
      const twice = await expectEveryoneOnce(t.db, id, people, subject, inFlight);
      process.stdout.write(
        `bulletin kill mid-dispatch: ${heldAtKill} held at the kill, dispatch resumed ${rerunMs} ms after it, sent ${Date.now() - killedAt} ms after; ` +
          `${inFlight.length} sends in flight at the kill, ${twice} delivered twice\n`,
      );
    } finally {
      await blocker.rollback().catch(() => {});
    }
  }, 180000);
});
