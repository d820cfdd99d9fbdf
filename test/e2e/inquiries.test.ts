import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runMaintenance } from '../../src/jobs.js';
import { LINK_CONFIRM_FIELD } from '../../src/shared/http/link-confirm.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { launchBrowser, serve, axeViolations } from '../helpers/browser.js';
import { insertMember } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { csrfFrom } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/**
 * Questions from the public (issue 13, point 12; C12, second half): contact data given with an
 * inquiry is used only to answer it.
 */
let ctx: TestContext;
let support: { id: string; agent: Agent };

beforeAll(async () => {
  ctx = await startTestContext();
  support = await signedInStaff(ctx, 'helpdesk@staff.test', 'support');
  await ctx.startWorker();
});
afterAll(() => ctx.close());

const fieldOf = (html: string) => new RegExp(`name="${LINK_CONFIRM_FIELD}" value="([^"]+)"`).exec(html)?.[1] ?? '';

/** Fills in the form as a browser on our page would: the page's field, and Sec-Fetch-Site. */
async function ask(form: Record<string, string>, opts: { from?: string; site?: string } = {}) {
  const page = await request(ctx.http).get('/contact');
  return request(ctx.http)
    .post('/contact')
    .set('Sec-Fetch-Site', opts.site ?? 'same-origin')
    .set('X-Forwarded-For', opts.from ?? '192.0.2.10')
    .type('form')
    .send({ [LINK_CONFIRM_FIELD]: fieldOf(page.text), ...form });
}

const question = (email: string) => ({
  name: 'Rosa Asker',
  email,
  subject: 'data_question',
  message: 'What do you hold about me?\nThanks.',
});

describe('C12: the contact form', () => {
  it('C12 C9: sets no cookie before or after it is sent, says where the answer goes, and stores the question on its own', async () => {
    const page = await request(ctx.http).get('/contact').expect(200);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(fieldOf(page.text)).not.toBe('');
    const members = await ctx.db('members').count({ n: '*' });
    const sent = await ask(question('rosa@example.org'));
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('We will answer by e-mail to <strong>rosa@example.org</strong>');
    expect(sent.headers['set-cookie']).toBeUndefined();
    expect(await ctx.db('inquiries').where({ email: 'rosa@example.org' }).first('subject', 'status', 'message')).toEqual({
      subject: 'data_question',
      status: 'open',
      message: 'What do you hold about me?\nThanks.',
    });
    expect(await ctx.db('members').count({ n: '*' })).toEqual(members);
  });

  it('C12 C11: a post without the page field, or from another site, is refused and stores nothing', async () => {
    const bare = await request(ctx.http)
      .post('/contact')
      .set('Sec-Fetch-Site', 'same-origin')
      .type('form')
      .send(question('x1@example.org'));
    const crossSite = await ask(question('x2@example.org'), { site: 'cross-site' });
    expect([bare.status, crossSite.status]).toEqual([403, 403]);
    expect(await ctx.db('inquiries').whereIn('email', ['x1@example.org', 'x2@example.org'])).toEqual([]);
  });

  it('C12: bad input is a field error with the input kept, never a 500; repeated questions are rate-limited', async () => {
    const bad = await ask({ name: 'Visit http://evil.example', email: 'not an address', subject: 'spam', message: '' });
    expect(bad.status).toBe(422);
    for (const message of [
      'A name cannot contain a web address',
      'Enter an e-mail address like name@example.org.',
      'Choose what your question is about.',
      'Write your question.',
    ])
      expect(bad.text).toContain(message);
    expect(bad.text).toContain('value="not an address"');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await ask(question('often@example.org'), { from: '198.51.100.7' })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('C12: staff answer questions', () => {
  it('C12 C11: support opens a question (audited), answers by e-mail through the outbox, and closes it; an auditor cannot see questions', async () => {
    await ask(question('answer.me@example.org'));
    const { id } = (await ctx.db('inquiries').where({ email: 'answer.me@example.org' }).first('id')) as { id: string };
    const list = await support.agent.get('/admin/inquiries').expect(200);
    expect(list.text).toContain(`/admin/inquiries/${id}`);
    const page = await support.agent.get(`/admin/inquiries/${id}`).expect(200);
    expect(page.text).toContain('What do you hold about me?');
    expect(await ctx.db('audit_log').where({ action: 'inquiry.viewed' }).select('staff_user_id', 'details')).toEqual([
      { staff_user_id: support.id, details: { inquiryId: id } },
    ]);

    const _csrf = await csrfFrom(support.agent, `/admin/inquiries/${id}`);
    const empty = await support.agent.post(`/admin/inquiries/${id}/reply`).type('form').send({ _csrf, body: '  ' });
    expect(empty.status).toBe(422);
    const replied = await support.agent
      .post(`/admin/inquiries/${id}/reply`)
      .type('form')
      .send({ _csrf, body: 'We hold nothing about you.\n\nBest wishes.' });
    expect(replied.headers.location).toBe(`/admin/inquiries/${id}?replied`);
    const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('answer.me@example.org'));
    expect(mail.parsed.subject).toBe('Test Society: our answer to your question');
    // The address was never confirmed: the reply greets no one by the name the form was sent with.
    expect(mail.parsed.text).toMatch(/^Hello,/);
    expect(`${mail.parsed.text} ${mail.parsed.html} ${mail.parsed.subject}`).not.toContain('Rosa');
    expect(mail.parsed.text).toContain('We hold nothing about you.');
    expect(await ctx.db('inquiries').where({ id }).first('status')).toEqual({ status: 'answered' });
    expect((await support.agent.get(`/admin/inquiries/${id}`)).text).toContain('We hold nothing about you.');

    await support.agent.post(`/admin/inquiries/${id}/close`).type('form').send({ _csrf }).expect(303);
    expect(await ctx.db('inquiries').where({ id }).first('status')).toEqual({ status: 'closed' });

    const auditor = await signedInStaff(ctx, 'reader@staff.test', 'auditor');
    await auditor.agent.get('/admin/inquiries').expect(403);
    await auditor.agent.get(`/admin/inquiries/${id}`).expect(403);
  });

  it('C12: a closed question is deleted with its answers after INQUIRY_RETENTION_DAYS, and the answer e-mail is scrubbed', async () => {
    await ask(question('forget.me@example.org'), { from: '203.0.113.9' });
    const { id } = (await ctx.db('inquiries').where({ email: 'forget.me@example.org' }).first('id')) as { id: string };
    const _csrf = await csrfFrom(support.agent, `/admin/inquiries/${id}`);
    await support.agent.post(`/admin/inquiries/${id}/reply`).type('form').send({ _csrf, body: 'Done.' }).expect(303);
    const { email_message_id: messageId } = await ctx.db('inquiry_replies').where({ inquiry_id: id }).first('email_message_id');
    await waitFor(
      async () => (await ctx.db('email_messages').where({ id: messageId }).first('status')).status === 'sent',
      'the answer sent',
    );
    await support.agent.post(`/admin/inquiries/${id}/close`).type('form').send({ _csrf }).expect(303);

    await runMaintenance(ctx.db, ctx.config);
    expect(await ctx.db('inquiries').where({ id }).first('id')).toBeDefined();
    await ctx
      .db('inquiries')
      .where({ id })
      .update({ closed_at: ctx.db.raw(`now() - interval '91 days'`) });
    expect((await runMaintenance(ctx.db, ctx.config)).inquiriesPurged).toBe(1);
    expect(await ctx.db('inquiries').where({ id })).toEqual([]);
    expect(await ctx.db('inquiry_replies').where({ inquiry_id: id })).toEqual([]);
    const scrubbed = await ctx.db('email_messages').where({ id: messageId }).first('recipient', 'text_body');
    expect(scrubbed.recipient).toBeNull();
    expect(scrubbed.text_body).not.toContain('Done.');
  });
});

describe('C12: inquiries are never joined to member records', () => {
  it('C12: no foreign key leads from an inquiry to a member, and the inquiries code never reads the members table', async () => {
    const { rows } = await ctx.db.raw<{ rows: { table_name: string; foreign: string }[] }>(`
      SELECT tc.table_name, ccu.table_name AS foreign
      FROM information_schema.table_constraints tc
      JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
      WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name IN ('inquiries', 'inquiry_replies')`);
    expect(rows.map((r) => r.foreign).sort()).toEqual(['email_messages', 'inquiries', 'staff_users']);
    const dir = path.resolve('src/inquiries');
    for (const file of readdirSync(dir)) {
      const code = readFileSync(path.join(dir, file), 'utf8');
      expect([file, /from '\.\.\/members\//.test(code), /['"`(]members['"`.\s]/.test(code)]).toEqual([file, false, false]);
    }
  });

  it('C12: a question from a member’s own address shows staff nothing of the membership', async () => {
    const memberId = await insertMember(ctx.db, 'also.member@example.org', 'Also Member');
    await ask(question('also.member@example.org'), { from: '203.0.113.77' });
    const { id } = (await ctx.db('inquiries').where({ email: 'also.member@example.org' }).first('id')) as { id: string };
    const page = await support.agent.get(`/admin/inquiries/${id}`).expect(200);
    expect(page.text).not.toContain(memberId);
    expect(page.text).not.toContain('/admin/members/');
  });
});

describe('C12 C9: the contact form in a browser that refuses cookies', () => {
  it('C12 C9: a visitor with cookies blocked sends a question; the page passes axe-core WCAG 2.1 AA', async () => {
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: false });
    try {
      const page = await browser.context.newPage();
      await page.goto(`${site.url}/contact`);
      expect(await axeViolations(page)).toEqual([]);
      await page.getByLabel('Your name').fill('Browser Asker');
      await page.getByLabel('Your e-mail address').fill('browser.asker@example.org');
      await page.getByLabel('Removing my data').check();
      await page.getByLabel('Your question').fill('How do I remove my data?');
      await page.getByRole('button', { name: 'Send my question' }).click();
      await page.getByRole('heading', { name: 'We have your question' }).waitFor();
      expect(await axeViolations(page)).toEqual([]);
      expect(await browser.context.cookies()).toEqual([]);
      expect(await ctx.db('inquiries').where({ email: 'browser.asker@example.org' }).first('subject')).toEqual({ subject: 'removal' });
    } finally {
      await browser.close();
      await site.close();
    }
  }, 60000);
});
