import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Db } from '../../src/db.js';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { oneClick, oneClickBurst, type Answer } from '../helpers/burst.js';
import type { TestDatabase } from '../helpers/db.js';
import { sampleNotice } from '../helpers/emails.js';
import { startFaultRig, type FaultRig } from '../helpers/fault-rig.js';
import { insertPopulation, noticeCounts, noticeRun, publishWithFanout, type Population } from '../helpers/fanout.js';
import { sendJobFor } from '../helpers/jobs.js';
import { eventually } from '../helpers/processes.js';
import type { SmtpSink } from '../helpers/smtp.js';

/**
 * `npm start` (web and worker in one process) stopped while mail providers post one-click
 * unsubscribes over keep-alive connections and a policy notice fan-out runs: with SIGTERM (a
 * deploy, an orchestrator) and with SIGKILL (the web process killed).
 */
let rig: FaultRig;
let smtp: SmtpSink;
beforeAll(async () => {
  rig = await startFaultRig();
  smtp = rig.smtp;
});
afterAll(() => rig.close());

async function setUp(members: number): Promise<{ t: TestDatabase; people: Population; links: { memberId: string; path: string }[] }> {
  const t = await rig.database();
  const people = await insertPopulation(t.db, members, 'stop');
  return { t, people, links: rig.oneClickLinks(t.url, t.db, people.memberIds) };
}

const startWeb = (url: string) => rig.web(url);

/**
 * C14: a change and its confirmation are one transaction — every one-click change has its e-mail and
 * no e-mail lacks its change. Both are read by one statement, so from one snapshot: a killed
 * process's last transaction can still commit after the kill (its server session ends a moment
 * later), and two reads could fall either side of that commit.
 */
async function expectAnsweredApplied(db: Db, answers: Answer[]): Promise<number> {
  const { rows } = await db.raw<{ rows: { changed: string[]; confirmed: string[] }[] }>(
    `SELECT array(SELECT DISTINCT member_id FROM consent_ledger WHERE source = 'one_click') AS changed,
            array(SELECT DISTINCT member_id FROM email_messages WHERE kind = 'preferences_changed') AS confirmed`,
  );
  const changed = new Set(rows[0]!.changed);
  const confirmed = new Set(rows[0]!.confirmed);
  const ok = answers.filter((a) => a.status === 200);
  for (const a of ok) expect(changed.has(a.memberId)).toBe(true);
  expect([...confirmed].sort()).toEqual([...changed].sort());
  return ok.length;
}

describe('stopping the web process under load', () => {
  it('SIGTERM: no answered request is lost, the last answers say Connection: close, running jobs finish, the rest wait unlocked, exit 0', async () => {
    const { t, people, links } = await setUp(300);
    const { web, origin } = await startWeb(t.url);
    smtp.messages.length = 0;
    smtp.setDelay(100);
    const versionId = await publishWithFanout(t.db, 20);
    // Three members' one-clicks are held in flight across the signal: their rows are locked here.
    const held = links.slice(0, 3);
    const burst = oneClickBurst(origin, links.slice(3), 6, 20);
    await eventually(async () => burst.answers.filter((a) => a.status === 200).length >= 30 || undefined, 'the burst to be under way');
    await eventually(async () => smtp.messages.length >= 10 || undefined, 'the fan-out to be under way');
    const blocker = await t.db.transaction();
    await blocker('members')
      .whereIn(
        'id',
        held.map((h) => h.memberId),
      )
      .forUpdate()
      .select('id');
    const inFlight = held.map((h) => oneClick(origin, h.path));
    await eventually(async () => {
      const { rows } = await t.db.raw<{ rows: { n: number }[] }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return (rows[0]?.n ?? 0) >= 3 || undefined;
    }, 'the three requests to wait for their rows');

    const termAt = Date.now();
    web.child.kill('SIGTERM');
    const shutdownStart = Number((await web.waitForLog((l) => l.event === 'shutdown.start', 'the shutdown to start')).time);
    await new Promise((r) => setTimeout(r, 500));
    expect(web.running()).toBe(true);
    await blocker.commit();
    const heldAnswers = await Promise.all(inFlight);
    const code = await web.exited;
    const exitedAt = Date.now();
    burst.stop();
    const answers = await burst.done;
    expect(code).toBe(0);
    // The requests in flight at the signal were finished, applied, and told the connection closes.
    expect(heldAnswers).toEqual(held.map(() => ({ status: 200, connection: 'close' })));
    const heldApplied = await t
      .db('consent_ledger')
      .where({ source: 'one_click' })
      .whereIn(
        'member_id',
        held.map((h) => h.memberId),
      )
      .distinct('member_id');
    expect(heldApplied).toHaveLength(3);
    expect(web.logs().filter((l) => (l.level ?? 0) >= 50)).toEqual([]);

    const applied = await expectAnsweredApplied(t.db, answers);
    expect(answers.filter((a) => a.status !== 200 && a.status !== 'error')).toEqual([]);
    // Whatever was asked once the shutdown had begun and still answered was told the connection closes.
    const lastAnswers = answers.filter((a) => a.startedAt > shutdownStart && a.status === 200);
    for (const a of lastAnswers) expect(a.connection).toBe('close');
    // The worker finished what it was running and left nothing locked or registered.
    const { rows: locked } = await t.db.raw('SELECT id FROM graphile_worker.jobs WHERE locked_by IS NOT NULL');
    expect(locked).toEqual([]);
    expect(await t.db('worker_heartbeats')).toEqual([]);
    expect((await noticeRun(t.db, versionId))?.finished_at).toBeNull();

    // A new process picks the fan-out up where it stopped; nothing was cut off, so nothing is sent twice.
    smtp.setDelay(0);
    const { web: next } = await startWeb(t.url);
    const nextUpMs = Date.now() - exitedAt;
    await eventually(async () => (await noticeRun(t.db, versionId))?.finished_at, 'the notice run to finish');
    const finishedMs = Date.now() - exitedAt;
    await eventually(
      async () => [...people.emails.values()].every((e) => noticeCounts(smtp).has(e)) || undefined,
      'every member to get the notice',
    );
    expect([...noticeCounts(smtp).values()].filter((n) => n > 1)).toEqual([]);
    expect(await next.stop()).toBe(0);
    process.stdout.write(
      `SIGTERM under load: stopped in ${exitedAt - termAt} ms; ${answers.length} requests, ${applied} answered 200 (all applied), ` +
        `${lastAnswers.length + 3} answered after the signal (Connection: close); unanswered: ` +
        `${JSON.stringify(Object.fromEntries(['ECONNREFUSED', 'UND_ERR_SOCKET', 'ECONNRESET'].map((c) => [c, answers.filter((a) => a.error === c).length])))}; ` +
        `the next process up ${nextUpMs} ms after the exit, the fan-out finished ${finishedMs} ms after it\n`,
    );
  }, 180000);

  it('C14: SIGKILL: every answered request was applied, and no change lacks its confirmation e-mail or the reverse', async () => {
    const { t, links } = await setUp(200);
    const { web, origin } = await startWeb(t.url);
    const burst = oneClickBurst(origin, links, 6, 5);
    await eventually(async () => burst.answers.filter((a) => a.status === 200).length >= 30 || undefined, 'the burst to be under way');
    web.child.kill('SIGKILL');
    await web.exited;
    const killedAt = Date.now();
    burst.stop();
    const answers = await burst.done;
    const applied = await expectAnsweredApplied(t.db, answers);
    expect(applied).toBeGreaterThanOrEqual(30);
    const waiting = Number(
      ((await t.db('email_messages').where({ kind: 'preferences_changed', status: 'queued' }).count({ n: '*' })) as { n: number }[])[0]?.n,
    );
    // What the killed process had committed is sent by the next worker.
    const { web: next } = await startWeb(t.url);
    const nextUpMs = Date.now() - killedAt;
    await eventually(
      async () => (await t.db('email_messages').where({ kind: 'preferences_changed', status: 'queued' }).first()) === undefined,
      'the confirmations to be sent',
    );
    const sentMs = Date.now() - killedAt;
    expect(await next.stop()).toBe(0);
    process.stdout.write(
      `SIGKILL under load: ${applied} answered 200, all applied with their confirmations (${waiting} still to send at the kill); ` +
        `the next process up ${nextUpMs} ms after the kill, every confirmation sent ${sentMs} ms after it\n`,
    );
  }, 120000);
});

describe('stopping a worker whose SMTP server hangs', () => {
  /** Shorter than the defaults (15 s grace, 10 s SMTP timeout) so the test takes seconds. */
  const GRACE_S = 6;
  const SMTP_TIMEOUT_S = 2;

  it('SIGTERM while a send waits on an SMTP server that never answers: the send times out, its job is released for a retry, exit 0 within the grace; a healthy worker sends it later, once', async () => {
    const t = await rig.database();
    const memberId = (await t.db('members').insert({ email: 'hung@example.org', status: 'active' }).returning('id'))[0].id as string;
    smtp.setDelay(0);
    smtp.setHang(true);
    const hungBefore = smtp.hung();
    const worker = await rig.worker(t.url, { SHUTDOWN_GRACE_SECONDS: String(GRACE_S), SMTP_TIMEOUT_SECONDS: String(SMTP_TIMEOUT_S) });
    const id = await t.db.transaction((trx) =>
      enqueueEmail(trx, sampleNotice('hung@example.org', memberId), { messageIdHost: 'assent.test', maxAttempts: 3 }),
    );
    // The message is whole at the server, which never says whether it takes it.
    await eventually(async () => smtp.hung() > hungBefore || undefined, 'the message to reach the hung SMTP server');
    const termAt = Date.now();
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    const stoppedMs = Date.now() - termAt;
    expect(code).toBe(0);
    expect(stoppedMs).toBeLessThan(GRACE_S * 1000);
    expect(worker.logs().filter((l) => l.event === 'shutdown.timeout')).toEqual([]);
    expect(worker.logs().filter((l) => l.event === 'email.retry' && l.emailId === id)).toHaveLength(1);

    // The attempt is recorded as failed and its job waits, unlocked, for its retry; nothing is registered.
    const row = await t.db('email_messages').where({ id }).first();
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row.last_error).toMatch(/timeout/i);
    const job = await sendJobFor(t.db, id);
    expect(job).toMatchObject({ attempts: 1, locked_at: null });
    expect(await t.db('worker_heartbeats')).toEqual([]);

    // The server recovers; a healthy worker sends the message at its retry, once.
    smtp.setHang(false);
    const healthy = await rig.worker(t.url);
    await eventually(
      async () => (await t.db('email_messages').where({ id }).first())?.status === 'sent' || undefined,
      'the retry to be sent',
    );
    const sentMs = Date.now() - termAt;
    expect(smtp.messages.filter((m) => m.envelopeTo.includes('hung@example.org'))).toHaveLength(1);
    expect(await t.db('email_messages').where({ id }).first()).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(await healthy.stop()).toBe(0);
    process.stdout.write(
      `SIGTERM with a hung SMTP server: exit 0 ${stoppedMs} ms after the signal (grace ${GRACE_S} s, SMTP timeout ${SMTP_TIMEOUT_S} s); ` +
        `sent by a healthy worker ${sentMs} ms after the signal\n`,
    );
  }, 60000);
});
