import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { formatRemovalDate } from '../../src/removal/removal.emails.js';
import { listRemovalRequests } from '../../src/removal/removal.repository.js';
import { hashToken } from '../../src/shared/secrets.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve, signInInBrowser } from '../helpers/browser.js';
import { insertMember } from '../helpers/fixtures.js';
import { waitForQueueIdle } from '../helpers/jobs.js';
import { CSRF_NONCE_COOKIE, csrfFrom, linkIn, signedInAgent, linkPost } from '../helpers/session.js';

/**
 * The member side of removal (C6), with a 10-day grace period so the due date is checked against
 * the configuration, not the default. Every status change must mail the member (C14).
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext({ REMOVAL_GRACE_DAYS: '10' });
  await ctx.startWorker();
});
afterAll(() => ctx.close());

type Agent = Awaited<ReturnType<typeof signedInAgent>>;

const SUBJECT = {
  confirm: 'please confirm that we should remove your data',
  confirmed: 'your removal request is confirmed',
  cancelled: 'your removal request is cancelled',
};

const mailTo = (to: string, subject: string) =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));
const mailsTo = (to: string, subject: string) =>
  ctx.smtp.messages.filter((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));
const requestsOf = (memberId: string) => ctx.db('removal_requests').where({ member_id: memberId }).orderBy('requested_at');

async function askForRemoval(agent: Agent): Promise<request.Response> {
  const csrf = await csrfFrom(agent, '/account/removal');
  return agent.post('/account/removal').type('form').send({ _csrf: csrf });
}

async function cancel(agent: Agent): Promise<request.Response> {
  const csrf = await csrfFrom(agent, '/account/removal');
  return agent.post('/account/removal/cancel').type('form').send({ _csrf: csrf });
}

describe('a member asks for removal, confirms it from the e-mail, and cancels it', () => {
  let adaId: string;
  let ada: Agent;
  let link: string;
  beforeAll(async () => {
    adaId = await insertMember(ctx.db, 'ada@example.org', 'Ada Lovelace');
    ada = await signedInAgent(ctx, adaId);
  });

  it('C6: signed out, the removal page sends the visitor to sign in', async () => {
    const res = await request(ctx.http).get('/account/removal').expect(303);
    expect(res.headers.location).toBe('/manage');
  });

  it('C11: asking or cancelling without the CSRF token is refused and changes nothing', async () => {
    await ada.post('/account/removal').type('form').send({}).expect(403);
    await ada.post('/account/removal/cancel').type('form').send({}).expect(403);
    expect(await requestsOf(adaId)).toEqual([]);
  });

  it('C6: the page explains removal in plain words and offers to ask for it', async () => {
    const page = (await ada.get('/account/removal').expect(200)).text;
    expect(page).toContain('keyed fingerprint of your e-mail address');
    expect(page).toContain('anonymised form');
    expect(page).toContain('every partner who received your data');
    expect(page).toContain('one last e-mail');
    expect(page).toContain('10 days after you confirm it');
    expect(page).toContain('Ask us to remove my data');
    expect(page).not.toContain('Cancel my removal request');
  });

  it('C6: asking mails a fresh single-use link and removes nothing; the request waits unconfirmed', async () => {
    const res = await askForRemoval(ada);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Check your e-mail');
    expect(await requestsOf(adaId)).toMatchObject([{ status: 'unconfirmed', confirmed_at: null, due_at: null }]);

    const mail = await mailTo('ada@example.org', SUBJECT.confirm);
    const text = mail.parsed.text ?? '';
    expect(text).toContain('Nothing happens unless you confirm');
    expect(text).toContain('works once, for 60 minutes');
    expect(text).toContain('keyed fingerprint');
    link = linkIn(text, '/l/removal/');

    const page = (await ada.get('/account/removal').expect(200)).text;
    expect(page).toContain('Waiting for you to confirm');
  });

  it('C6: opening the link shows a button and changes nothing (mail scanners follow links)', async () => {
    const first = await request(ctx.http).get(link).expect(200);
    await request(ctx.http).get(link).expect(200);
    expect(first.text).toContain('Yes, remove my data');
    expect(first.headers['set-cookie']).toEqual([expect.stringMatching(CSRF_NONCE_COOKIE)]);
    expect(await requestsOf(adaId)).toMatchObject([{ status: 'unconfirmed' }]);
    const token = link.split('/').pop() as string;
    expect(
      await ctx
        .db('member_tokens')
        .where({ token_hash: hashToken(token) })
        .first('used_at'),
    ).toEqual({ used_at: null });
  });

  it('C6 C9: pressing the button confirms without a cookie; the removal falls due REMOVAL_GRACE_DAYS (10) days after confirmation', async () => {
    const res = await linkPost(request(ctx.http), link).expect(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    const [row] = await requestsOf(adaId);
    expect(row.status).toBe('confirmed');
    const { rows } = await ctx.db.raw(
      'SELECT due_at = confirmed_at + make_interval(days => 10) AS exact FROM removal_requests WHERE id = ?',
      [row.id],
    );
    expect(rows[0].exact).toBe(true);
    const days = (row.due_at.getTime() - row.confirmed_at.getTime()) / 86_400_000;
    expect(Math.abs(days - 10)).toBeLessThan(0.05);
    expect(Math.abs(row.confirmed_at.getTime() - Date.now())).toBeLessThan(60_000);
    expect(res.text).toContain('Your removal request is confirmed');
    expect(res.text).toContain(formatRemovalDate(row.due_at, 'UTC'));
  });

  it('C14: the confirmation e-mail states the date it will be carried out and how to cancel before then', async () => {
    const [row] = await requestsOf(adaId);
    const mail = await mailTo('ada@example.org', SUBJECT.confirmed);
    const text = mail.parsed.text ?? '';
    expect(text).toContain(`We will carry it out on ${formatRemovalDate(row.due_at, 'UTC')}.`);
    expect(text).toContain(`To cancel before ${formatRemovalDate(row.due_at, 'UTC')}, sign in`);
    expect(text).toContain('http://assent.test/account/removal');
    expect(text).toContain('privacy@assent.test');
  });

  it('C6: the link works once', async () => {
    const again = await linkPost(request(ctx.http), link).expect(400);
    expect(again.text).toContain('This removal link has expired or was already used.');
    await request(ctx.http).get(link).expect(400);
  });

  it('C6: with a confirmed request, the page shows the date and a Cancel button, and asking again sends nothing new', async () => {
    const [row] = await requestsOf(adaId);
    const page = (await ada.get('/account/removal').expect(200)).text;
    expect(page).toContain(
      `We will remove your data on <time datetime="${row.due_at.toISOString()}">${formatRemovalDate(row.due_at, 'UTC')}</time>`,
    );
    expect(page).toContain('Cancel my removal request');
    expect(page).not.toContain('Ask us to remove my data');
    const res = await askForRemoval(ada);
    expect(res.status).toBe(200);
    expect(res.text).toContain('You already have a removal request');
    expect(await requestsOf(adaId)).toHaveLength(1);
  });

  it('C14: cancelling sets the request cancelled and mails the member what was cancelled and how to undo it', async () => {
    const [before] = await requestsOf(adaId);
    const res = await cancel(ada);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account/removal?notice=cancelled');
    const [row] = await requestsOf(adaId);
    expect(row.status).toBe('cancelled');
    expect(row.cancelled_at).toBeInstanceOf(Date);
    const page = (await ada.get('/account/removal?notice=cancelled').expect(200)).text;
    expect(page).toContain('Your removal request is cancelled.');
    expect(page).toContain('Ask us to remove my data');
    const text = (await mailTo('ada@example.org', SUBJECT.cancelled)).parsed.text ?? '';
    expect(text).toContain(`due to be carried out on ${formatRemovalDate(before.due_at, 'UTC')}, is cancelled`);
    expect(text).toContain('Nothing was removed');
    // Issue 13.10: the cancellation's main action is the member's choices, not another removal.
    const html = (await mailTo('ada@example.org', SUBJECT.cancelled)).parsed.html || '';
    expect(text).toContain('Manage your choices');
    expect(text).not.toContain('Ask for removal again');
    expect(html).toMatch(/<a [^>]*href="http:\/\/assent\.test\/p\/[^"]+"[^>]*>\s*Manage your choices\s*<\/a>/);
    expect((await cancel(ada)).status).toBe(409);
  });

  it('C14: the request, the confirmation and the cancellation each produce exactly one e-mail', async () => {
    await waitForQueueIdle(ctx.db);
    const kinds = await ctx.db('email_messages').where({ member_id: adaId }).select('kind', 'status').orderBy('created_at');
    expect(kinds).toEqual([
      { kind: 'removal_confirm', status: 'sent' },
      { kind: 'removal_confirmed', status: 'sent' },
      { kind: 'removal_cancelled', status: 'sent' },
    ]);
    for (const subject of Object.values(SUBJECT)) expect(mailsTo('ada@example.org', subject)).toHaveLength(1);
  });

  it('C6: listRemovalRequests gives each request with its status and dates, newest first', async () => {
    await askForRemoval(ada);
    const list = await listRemovalRequests(ctx.db, adaId);
    expect(list.map((r) => r.status)).toEqual(['unconfirmed', 'cancelled']);
    expect(list[1]).toMatchObject({ confirmed_at: expect.any(Date), due_at: expect.any(Date), cancelled_at: expect.any(Date) });
  });
});

describe('removal links and requests in other states', () => {
  it('C6: an expired, tampered or re-pointed link is refused with 400 and changes nothing', async () => {
    const id = await insertMember(ctx.db, 'bea@example.org', 'Bea');
    const [req] = await ctx.db('removal_requests').insert({ member_id: id }).returning('id');
    await request(ctx.http).get('/l/removal/not-a-token').expect(400);
    await linkPost(request(ctx.http), `/l/removal/${'A'.repeat(43)}`).expect(400);
    const signin = await issueMemberToken(ctx.db, id, 'signin', 15, { requestId: req.id });
    await linkPost(request(ctx.http), `/l/removal/${signin}`).expect(400);
    const token = await issueMemberToken(ctx.db, id, 'removal', 60, { requestId: req.id });
    await ctx
      .db('member_tokens')
      .where({ token_hash: hashToken(token) })
      .update({ expires_at: ctx.db.raw("now() - interval '1 second'") });
    const expired = await request(ctx.http).get(`/l/removal/${token}`).expect(400);
    expect(expired.text).toContain('This removal link has expired or was already used.');
    await linkPost(request(ctx.http), `/l/removal/${token}`).expect(400);
    expect(await requestsOf(id)).toMatchObject([{ status: 'unconfirmed' }]);
  });

  it('C6: a second link for an already confirmed request gives a clear page, not an error, and no second e-mail', async () => {
    const id = await insertMember(ctx.db, 'cleo@example.org', 'Cleo');
    const agent = await signedInAgent(ctx, id);
    await askForRemoval(agent).then((r) => expect(r.status).toBe(200));
    await askForRemoval(agent).then((r) => expect(r.status).toBe(200));
    await ctx.smtp.waitFor(() => mailsTo('cleo@example.org', SUBJECT.confirm).length === 2);
    const [first, second] = mailsTo('cleo@example.org', SUBJECT.confirm).map((m) => linkIn(m.parsed.text ?? '', '/l/removal/')) as [
      string,
      string,
    ];
    expect(first).not.toBe(second);
    expect(await requestsOf(id)).toHaveLength(1);
    await linkPost(request(ctx.http), second).expect(200);
    const shown = await request(ctx.http).get(first).expect(200);
    expect(shown.text).toContain('Your removal request is already confirmed');
    expect(shown.text).not.toContain('Yes, remove my data');
    const used = await linkPost(request(ctx.http), first).expect(200);
    expect(used.text).toContain('Your removal request is already confirmed');
    await waitForQueueIdle(ctx.db);
    expect(await ctx.db('email_messages').where({ member_id: id, kind: 'removal_confirmed' })).toHaveLength(1);
  });

  it('C14: an unconfirmed request can be cancelled too; its old link then says so and confirms nothing', async () => {
    const id = await insertMember(ctx.db, 'dora@example.org', 'Dora');
    const agent = await signedInAgent(ctx, id);
    await askForRemoval(agent);
    const link = linkIn((await mailTo('dora@example.org', SUBJECT.confirm)).parsed.text ?? '', '/l/removal/');
    expect((await cancel(agent)).status).toBe(303);
    const text = (await mailTo('dora@example.org', SUBJECT.cancelled)).parsed.text ?? '';
    expect(text).toContain('which you had not yet confirmed, is cancelled');
    const res = await linkPost(request(ctx.http), link).expect(200);
    expect(res.text).toContain('This removal request was cancelled');
    expect(await requestsOf(id)).toMatchObject([{ status: 'cancelled', confirmed_at: null }]);
  });

  it('C6: a request on legal hold shows as held; the member can neither cancel it nor open another', async () => {
    const id = await insertMember(ctx.db, 'eve@example.org', 'Eve');
    await ctx.db('removal_requests').insert({
      member_id: id,
      status: 'held',
      confirmed_at: ctx.db.fn.now(),
      due_at: ctx.db.fn.now(),
      hold_reason: 'Court order 12/2026',
    });
    const agent = await signedInAgent(ctx, id);
    const page = (await agent.get('/account/removal').expect(200)).text;
    expect(page).toContain('On hold.');
    expect(page).not.toContain('Court order');
    expect(page).not.toContain('Cancel my removal request');
    expect(page).not.toContain('Ask us to remove my data');
    const csrf = await csrfFrom(agent, '/account');
    expect((await agent.post('/account/removal/cancel').type('form').send({ _csrf: csrf })).status).toBe(409);
    expect((await agent.post('/account/removal').type('form').send({ _csrf: csrf })).status).toBe(200);
    expect(await requestsOf(id)).toMatchObject([{ status: 'held' }]);
    expect(await ctx.db('email_messages').where({ member_id: id })).toEqual([]);
  });

  it('C6: two requests racing open one removal request between them, never a 500 from the one-open-request index', async () => {
    const id = await insertMember(ctx.db, 'hana@example.org', 'Hana');
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/removal');
    const statuses = await Promise.all(
      [0, 1, 2].map(() =>
        agent
          .post('/account/removal')
          .type('form')
          .send({ _csrf: csrf })
          .then((r) => r.status),
      ),
    );
    expect(statuses).toEqual([200, 200, 200]);
    expect(await requestsOf(id)).toMatchObject([{ status: 'unconfirmed' }]);
    const tokens = await ctx.db('member_tokens').where({ member_id: id, purpose: 'removal' }).select('data');
    expect(new Set(tokens.map((t) => t.data.requestId)).size).toBe(1);
  });

  it('C11: asking for removal links is rate-limited per member', async () => {
    const id = await insertMember(ctx.db, 'fay@example.org', 'Fay');
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/removal');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await agent.post('/account/removal').type('form').send({ _csrf: csrf })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe('the removal pages in a real browser', () => {
  it('C6: every removal page, in each state a member meets, passes axe-core WCAG 2.1 AA checks', async () => {
    const id = await insertMember(ctx.db, 'gia@example.org', 'Gia');
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    try {
      const page = await browser.context.newPage();
      const violations: Record<string, string[]> = {};
      await signInInBrowser(page, site.url, await issueMemberToken(ctx.db, id, 'signin', 15));
      await page.goto(`${site.url}/account/removal`);
      violations.index = await axeViolations(page);
      await page.getByRole('button', { name: 'Ask us to remove my data' }).click();
      expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
      violations.sent = await axeViolations(page);
      await page.goto(`${site.url}/account/removal`);
      violations.waiting = await axeViolations(page);
      const link = linkIn((await mailTo('gia@example.org', SUBJECT.confirm)).parsed.text ?? '', '/l/removal/');
      await page.goto(`${site.url}${link}`);
      violations.link = await axeViolations(page);
      await page.getByRole('button', { name: 'Yes, remove my data' }).click();
      expect(await page.locator('h1').innerText()).toBe('Your removal request is confirmed');
      violations.done = await axeViolations(page);
      await page.goto(`${site.url}/account/removal`);
      violations.confirmed = await axeViolations(page);
      await page.getByRole('button', { name: 'Cancel my removal request' }).click();
      expect(await page.getByRole('status').innerText()).toContain('Your removal request is cancelled.');
      violations.cancelled = await axeViolations(page);
      expect(violations).toEqual({ index: [], sent: [], waiting: [], link: [], done: [], confirmed: [], cancelled: [] });
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
  }, 60000);
});
