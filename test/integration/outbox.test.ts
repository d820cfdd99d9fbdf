import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { addSendJobBatches, enqueueEmail, SEND_BATCH_SIZE } from '../../src/mail/outbox.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertQueuedRow, sampleNotice } from '../helpers/emails.js';
import { insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { makeRetriesDueNow, pendingJobs, sendJobFor, sendJobMessages, waitFor, waitForQueueIdle } from '../helpers/jobs.js';
import { nodeArgs } from '../helpers/processes.js';

let ctx: TestContext;
let memberId: string;

beforeAll(async () => {
  ctx = await startTestContext();
  memberId = await insertMember(ctx.db, 'ada@example.org', 'Ada');
});
afterEach(async () => {
  await ctx.stopWorker();
  ctx.smtp.setRefuseAll(false);
  ctx.smtp.failNext(0);
});
afterAll(() => ctx.close());

const rowsFor = (to: string) => ctx.db('email_messages').where({ recipient: to });

describe('the outbox sends e-mail only for committed work', () => {
  it('C14: when the transaction rolls back, no e-mail and no job exist', async () => {
    await expect(
      ctx.db.transaction(async (trx) => {
        await enqueueEmail(trx, sampleNotice('rollback@example.org', memberId), ctx.outbox);
        throw new Error('the use case failed after enqueuing');
      }),
    ).rejects.toThrow('the use case failed');
    expect(await rowsFor('rollback@example.org')).toHaveLength(0);
    expect(await pendingJobs(ctx.db)).toHaveLength(0);
    await ctx.startWorker();
    await new Promise((r) => setTimeout(r, 500));
    expect(ctx.smtp.messages.filter((m) => m.envelopeTo.includes('rollback@example.org'))).toHaveLength(0);
  });

  it('when the transaction commits, the worker sends the e-mail once and marks it sent', async () => {
    const id = await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('commit@example.org', memberId), ctx.outbox));
    expect((await rowsFor('commit@example.org'))[0]).toMatchObject({ status: 'queued', attempts: 0 });
    await ctx.startWorker();
    const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('commit@example.org'));
    expect(mail.parsed.messageId).toBe(`<${id}@assent.test>`);
    expect(mail.parsed.subject).toContain('our privacy policy changes');
    const row = await waitFor(
      async () => ((await rowsFor('commit@example.org'))[0]?.status === 'sent' ? (await rowsFor('commit@example.org'))[0] : undefined),
      'sent',
    );
    expect(row).toMatchObject({ attempts: 1, last_error: null, message_id: `<${id}@assent.test>` });
    expect(row.sent_at).toBeInstanceOf(Date);
  });

  it('when the process dies right after the commit, the e-mail is still sent by a worker started later', async () => {
    const run = promisify(execFile)(process.execPath, nodeArgs('test/helpers/enqueue-and-exit.ts', ctx.database.url, 'crash@example.org'));
    await expect(run).rejects.toMatchObject({ code: 1 });
    expect((await rowsFor('crash@example.org'))[0]).toMatchObject({ status: 'queued' });
    await ctx.startWorker();
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('crash@example.org'));
    await waitFor(async () => (await rowsFor('crash@example.org'))[0]?.status === 'sent', 'sent');
  });
});

describe('retries', () => {
  it('a temporary SMTP failure is retried with exponential backoff, then sent', async () => {
    ctx.smtp.failNext(1);
    await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('retry@example.org', memberId), ctx.outbox));
    const started = Date.now();
    await ctx.startWorker();
    // The message and its job as they stand between the first attempt and the retry. graphile-worker
    // sets the job's run_at to exp(attempts) seconds after the failure (about 2.7 s), and the failure
    // came after the worker started, so run_at shows the backoff however late this test looks.
    const { failed, job } = await waitFor(async () => {
      const r = (await rowsFor('retry@example.org'))[0];
      const j = r?.attempts === 1 ? await sendJobFor(ctx.db, r.id) : undefined;
      return j?.attempts === 1 && j.locked_at === null ? { failed: r!, job: j } : undefined;
    }, 'the first attempt to fail');
    expect(failed).toMatchObject({ status: 'queued' });
    expect(failed.last_error).toMatch(/451/);
    expect(job.run_at.getTime() - started).toBeGreaterThan(2000);
    await makeRetriesDueNow(ctx.database.url, ctx.db);
    await ctx.smtp.waitFor((m) => m.envelopeTo.includes('retry@example.org'));
    const sent = await waitFor(async () => {
      const r = (await rowsFor('retry@example.org'))[0];
      return r?.status === 'sent' ? r : undefined;
    }, 'sent');
    expect(sent).toMatchObject({ attempts: 2, last_error: null });
  });

  it('SMTP down (connection refused): the send fails and is retried with backoff; once the server listens again on its port, the message is delivered once', async () => {
    await ctx.smtp.down();
    try {
      const id = await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('down@example.org', memberId), ctx.outbox));
      await ctx.startWorker();
      const unlockedJob = () =>
        waitFor(async () => {
          const j = await sendJobFor(ctx.db, id);
          return j && !j.locked_at ? j : undefined;
        }, 'the job to wait for its retry');
      const first = await waitFor(async () => {
        const r = (await rowsFor('down@example.org'))[0];
        return r?.attempts === 1 ? r : undefined;
      }, 'the first attempt to fail');
      expect(first).toMatchObject({ status: 'queued' });
      expect(first.last_error).toMatch(/ECONNREFUSED/);
      // Backoff: exp(1) ≈ 2.7 s after the failure. The retry comes by itself, and is refused again.
      expect((await unlockedJob()).run_at.getTime()).toBeGreaterThan(new Date(first.updated_at).getTime() + 1000);
      const second = await waitFor(
        async () => {
          const r = (await rowsFor('down@example.org'))[0];
          return r?.attempts === 2 ? r : undefined;
        },
        'the retry to be refused too',
        15000,
      );
      expect(second).toMatchObject({ status: 'queued' });
      expect(second.last_error).toMatch(/ECONNREFUSED/);
      // The next wait is longer: exp(2) ≈ 7.4 s.
      expect((await unlockedJob()).run_at.getTime()).toBeGreaterThan(new Date(second.updated_at).getTime() + 5000);
      expect(ctx.smtp.messages.filter((m) => m.envelopeTo.includes('down@example.org'))).toHaveLength(0);

      // The server is back on the same port; the retry (made due now, not 7 s on) delivers the message, once.
      await ctx.smtp.up();
      await makeRetriesDueNow(ctx.database.url, ctx.db);
      const sent = await waitFor(async () => {
        const r = (await rowsFor('down@example.org'))[0];
        return r?.status === 'sent' ? r : undefined;
      }, 'sent');
      expect(sent).toMatchObject({ attempts: 3, last_error: null });
      await waitForQueueIdle(ctx.db);
      expect(ctx.smtp.messages.filter((m) => m.envelopeTo.includes('down@example.org'))).toHaveLength(1);
    } finally {
      await ctx.smtp.up();
    }
  });

  it('a message that keeps failing ends as failed with the reason after the last attempt', async () => {
    ctx.smtp.setRefuseAll(true);
    await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('doomed@example.org', memberId), ctx.outbox));
    await ctx.startWorker();
    for (let attempt = 1; attempt <= ctx.config.mailMaxAttempts; attempt++) {
      await waitFor(async () => (await rowsFor('doomed@example.org'))[0]?.attempts === attempt, `attempt ${attempt}`);
      await waitForQueueIdle(ctx.db);
      await makeRetriesDueNow(ctx.database.url, ctx.db);
    }
    const row = await waitFor(async () => {
      const r = (await rowsFor('doomed@example.org'))[0];
      return r?.status === 'failed' ? r : undefined;
    }, 'failed');
    expect(row).toMatchObject({ attempts: 3, sent_at: null });
    expect(row.last_error).toMatch(/451 try again later/);
    expect(await pendingJobs(ctx.db)).toHaveLength(0);
  });

  it('a job run again for a message already sent does not send it twice', async () => {
    const id = await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('once@example.org', memberId), ctx.outbox));
    await ctx.startWorker();
    await waitFor(async () => (await rowsFor('once@example.org'))[0]?.status === 'sent', 'sent');
    await ctx.db.raw(`SELECT graphile_worker.add_job('send_email', json_build_object('id', ?::text))`, [id]);
    await waitFor(async () => (await pendingJobs(ctx.db)).length === 0, 'the repeated job to finish');
    expect(ctx.smtp.messages.filter((m) => m.envelopeTo.includes('once@example.org'))).toHaveLength(1);
  });
});

describe('batch jobs (a bulletin’s released messages)', () => {
  /** Outbox rows without a job: the test adds their batch jobs. */
  async function queuedRows(prefix: string, n: number): Promise<{ ids: string[]; to: string[] }> {
    const to = Array.from({ length: n }, (_x, i) => `${prefix}-${i}@example.org`);
    const ids: string[] = [];
    for (const address of to) ids.push(await insertQueuedRow(ctx.db, address, 'Batched'));
    return { ids, to };
  }

  const batchJobs = async () =>
    (await sendJobMessages(ctx.db)).filter((j) => j.batch).map((j) => ({ ids: j.emailIds, attempts: j.attempts, locked_at: j.locked_at }));

  it(`messages are queued ${SEND_BATCH_SIZE} to a job; one that fails is retried alone with its own attempt count, the rest are sent once`, async () => {
    const { ids, to } = await queuedRows('batch', SEND_BATCH_SIZE + 2);
    await addSendJobBatches(ctx.db, ids, ctx.config.mailMaxAttempts);
    const queued = await batchJobs();
    expect(queued.map((j) => j.ids.length)).toEqual([SEND_BATCH_SIZE, 2]);
    expect(queued.flatMap((j) => j.ids).sort()).toEqual([...ids].sort());

    ctx.smtp.failNext(1);
    await ctx.startWorker();
    // The first batch: one of its sends meets the 451, the others go; the job comes back with that entry alone.
    const [left] = await waitFor(async () => {
      const jobs = await batchJobs();
      return jobs.length === 1 && jobs[0]!.attempts === 1 && jobs[0]!.locked_at === null ? jobs : undefined;
    }, 'the batch to come back with its failed entry');
    expect(left!.ids).toHaveLength(1);
    const failedId = left!.ids[0]!;
    const rows = await ctx.db('email_messages').whereIn('id', ids).select('id', 'status', 'attempts');
    expect(rows.filter((r) => r.id !== failedId).every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
    expect(rows.find((r) => r.id === failedId)).toMatchObject({ status: 'queued', attempts: 1 });

    await makeRetriesDueNow(ctx.database.url, ctx.db);
    const retried = await waitFor(async () => {
      const r = await ctx.db('email_messages').where({ id: failedId }).first('status', 'attempts');
      return r?.status === 'sent' ? r : undefined;
    }, 'the failed entry to be sent on its retry');
    expect(retried).toEqual({ status: 'sent', attempts: 2 });
    await waitFor(async () => (await batchJobs()).length === 0, 'the batch job to be done');
    for (const address of to) expect(ctx.smtp.messages.filter((m) => m.envelopeTo.includes(address))).toHaveLength(1);
  });
});

describe('C4: non-transactional mail carries the one-click unsubscribe headers', () => {
  it('C4: List-Unsubscribe has an https-or-http URI and a mailto on one unfolded line, with List-Unsubscribe-Post', async () => {
    await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('headers@example.org', memberId), ctx.outbox));
    await ctx.startWorker();
    const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('headers@example.org'));
    const line = mail.raw.split('\r\n').find((l) => l.toLowerCase().startsWith('list-unsubscribe:'));
    expect(line).toMatch(
      /^List-Unsubscribe: <http:\/\/assent\.test\/unsubscribe\/[^>]+>, <mailto:privacy@assent\.test\?subject=unsubscribe%20[^>]+>$/,
    );
    const next = mail.raw.split('\r\n')[mail.raw.split('\r\n').indexOf(line as string) + 1] ?? '';
    expect(next).not.toMatch(/^[ \t]/);
    expect(mail.raw).toContain('\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
    expect(mail.parsed.text).toContain('http://assent.test/unsubscribe/');
  });
});

describe('C3: an opt-out takes effect before any later send', () => {
  it('C3: a queued topic message is cancelled, not sent, when the member opted out before it went out', async () => {
    const policyId = await insertPolicy(ctx.db, { version: 'c3' });
    const topicId = await insertTopic(ctx.db, { slug: 'c3-bulletin', kind: 'newsletter', policyId });
    const m = await insertMember(ctx.db, 'optout@example.org');
    await recordConsent(ctx.db, { memberId: m, topicId, policyId, to: 'opted_in', source: 'member_web' });
    await ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice('optout@example.org', m, { topicId }), ctx.outbox));
    await recordConsent(ctx.db, { memberId: m, topicId, policyId, to: 'opted_out', source: 'one_click', channel: 'email' });
    await ctx.startWorker();
    const row = await waitFor(async () => {
      const r = (await rowsFor('optout@example.org'))[0];
      return r?.status === 'cancelled' ? r : undefined;
    }, 'cancelled');
    expect(row.last_error).toMatch(/opted out/);
    expect(ctx.smtp.messages.filter((x) => x.envelopeTo.includes('optout@example.org'))).toHaveLength(0);
  });
});
