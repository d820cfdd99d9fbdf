import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { enqueueEmail } from '../../src/mail/outbox.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { sampleNotice } from '../helpers/emails.js';
import { insertMember } from '../helpers/fixtures.js';
import { pendingJobs, waitFor, waitForQueueIdle } from '../helpers/jobs.js';
import { csrfFrom } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let admin: { id: string; agent: Agent };
let auditor: { id: string; agent: Agent };
let support: { id: string; agent: Agent };
let memberId: string;

// One attempt per job: a refused delivery ends the message as failed at once.
beforeAll(async () => {
  ctx = await startTestContext({ MAIL_MAX_ATTEMPTS: '1' });
  admin = await signedInStaff(ctx, 'outbox-admin@example.org', 'admin');
  auditor = await signedInStaff(ctx, 'outbox-auditor@example.org', 'auditor');
  support = await signedInStaff(ctx, 'outbox-support@example.org', 'support');
  memberId = await insertMember(ctx.db, 'ada@example.org', 'Ada Lovelace');
});
afterAll(() => ctx.close());

const rowOf = async (id: string) =>
  (await ctx.db('email_messages').where({ id }).first()) as { status: string; attempts: number; last_error: string | null };
const delivered = (to: string) => ctx.smtp.messages.filter((m) => m.envelopeTo.includes(to));
const queue = (to: string) => ctx.db.transaction((trx) => enqueueEmail(trx, sampleNotice(to, memberId), ctx.outbox));

/** A message whose only delivery attempt was refused by the SMTP server. */
async function failedMessage(to: string): Promise<string> {
  ctx.smtp.setRefuseAll(true);
  const id = await queue(to);
  await ctx.startWorker();
  await waitFor(async () => (await rowOf(id)).status === 'failed', 'the message to fail');
  await waitForQueueIdle(ctx.db);
  await ctx.stopWorker();
  ctx.smtp.setRefuseAll(false);
  return id;
}

describe('C11: the e-mail outbox', () => {
  let failedId: string;
  let sentId: string;

  beforeAll(async () => {
    sentId = await queue('fine@example.org');
    await ctx.startWorker();
    await waitFor(async () => (await rowOf(sentId)).status === 'sent', 'the first message to be sent');
    await ctx.stopWorker();
    failedId = await failedMessage('broken@example.org');
  });

  it('C11: admin and auditor see messages with status, attempts and the failure reason; support gets 403', async () => {
    const page = await admin.agent.get('/admin/outbox').expect(200);
    expect(page.text).toContain('broken@example.org');
    expect(page.text).toContain('fine@example.org');
    expect(page.text).toContain('451 try again later');
    expect(page.text.indexOf('broken@example.org')).toBeLessThan(page.text.indexOf('fine@example.org'));
    expect(page.text).toContain(`action="/admin/outbox/${failedId}/retry"`);
    expect(page.text).not.toContain(`action="/admin/outbox/${sentId}/retry"`);

    const failedOnly = await auditor.agent.get('/admin/outbox?status=failed').expect(200);
    expect(failedOnly.text).toContain('broken@example.org');
    expect(failedOnly.text).not.toContain('fine@example.org');
    expect(failedOnly.text).toMatch(/<option value="failed" selected>/);
    // The auditor reads; retrying is for admins.
    expect(failedOnly.text).not.toContain('/retry"');
    const sentOnly = await auditor.agent.get('/admin/outbox?status=sent').expect(200);
    expect(sentOnly.text).toContain('fine@example.org');
    expect(sentOnly.text).not.toContain('broken@example.org');
    await auditor.agent.get('/admin/outbox?status=bogus&page=x').expect(200);

    await support.agent.get('/admin/outbox').expect(403);
    const _csrf = await csrfFrom(support.agent, '/admin/password');
    await support.agent.post(`/admin/outbox/${failedId}/retry`).type('form').send({ _csrf }).expect(403);
    const auditorCsrf = await csrfFrom(auditor.agent, '/admin/outbox');
    await auditor.agent.post(`/admin/outbox/${failedId}/retry`).type('form').send({ _csrf: auditorCsrf }).expect(403);
    expect((await rowOf(failedId)).status).toBe('failed');
  });

  it('C11: retrying a failed message sends it exactly once and writes an audit entry', async () => {
    expect(delivered('broken@example.org')).toHaveLength(0);
    const _csrf = await csrfFrom(admin.agent, '/admin/outbox');
    const res = await admin.agent.post(`/admin/outbox/${failedId}/retry`).type('form').send({ _csrf });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/outbox?status=queued&retried');
    expect((await rowOf(failedId)).status).toBe('queued');
    expect(await pendingJobs(ctx.db)).toHaveLength(1);
    // A second retry while it is queued is refused: there is never a second job for it.
    await admin.agent.post(`/admin/outbox/${failedId}/retry`).type('form').send({ _csrf }).expect(409);
    expect(await pendingJobs(ctx.db)).toHaveLength(1);

    await ctx.startWorker();
    const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('broken@example.org'));
    expect(mail.parsed.messageId).toBe(`<${failedId}@assent.test>`);
    const row = await waitFor(async () => ((await rowOf(failedId)).status === 'sent' ? rowOf(failedId) : undefined), 'sent');
    expect(row).toMatchObject({ status: 'sent', last_error: null });
    await waitForQueueIdle(ctx.db);
    await new Promise((r) => setTimeout(r, 600));
    expect(delivered('broken@example.org')).toHaveLength(1);

    const entries = await ctx.db('audit_log').where({ action: 'email.retried' }).select('staff_user_id', 'member_id', 'details');
    expect(entries).toEqual([{ staff_user_id: admin.id, member_id: memberId, details: { emailId: failedId } }]);
    const page = await admin.agent.get('/admin/outbox?status=queued&retried').expect(200);
    expect(page.text).toContain('queued again');
    await ctx.stopWorker();
  });

  it('C11: retry is refused for a message that is not failed, and for unknown or malformed ids', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/outbox');
    const sent = await admin.agent.post(`/admin/outbox/${sentId}/retry`).type('form').send({ _csrf }).expect(409);
    expect(sent.text).toContain('Only a failed message can be retried.');
    const queuedId = await queue('waiting@example.org');
    await admin.agent.post(`/admin/outbox/${queuedId}/retry`).type('form').send({ _csrf }).expect(409);
    expect((await rowOf(sentId)).status).toBe('sent');
    expect((await rowOf(queuedId)).status).toBe('queued');
    expect(await pendingJobs(ctx.db)).toHaveLength(1);
    await admin.agent.post('/admin/outbox/:id/retry').type('form').send({ _csrf }).expect(404);
    await admin.agent.post('/admin/outbox/nonsense/retry').type('form').send({ _csrf }).expect(404);
    await admin.agent.post('/admin/outbox/00000000-0000-4000-8000-000000000000/retry').type('form').send({ _csrf }).expect(404);
    expect(await ctx.db('audit_log').where({ action: 'email.retried' })).toHaveLength(1);
    expect(delivered('fine@example.org')).toHaveLength(1);
  });

  it('C11: the list pages newest first and the links keep the status filter', async () => {
    await ctx.db.transaction(async (trx) => {
      for (let i = 0; i < 51; i++) await enqueueEmail(trx, sampleNotice(`bulk${i}@example.org`, memberId), ctx.outbox);
    });
    const first = await admin.agent.get('/admin/outbox?status=queued').expect(200);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBe('/admin/outbox?status=queued&page=2');
    const second = await admin.agent.get(next ?? '').expect(200);
    expect(second.text).toContain('waiting@example.org');
    expect(second.text).not.toContain('fine@example.org');
  });
});
