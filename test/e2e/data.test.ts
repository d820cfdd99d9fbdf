import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { readFileSync } from 'node:fs';
import { insertStaffUser } from '../../src/auth/staff.repository.js';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { hashToken } from '../../src/shared/secrets.js';
import { randomUUID } from 'node:crypto';
import { LEDGER_SOURCES } from '../../src/consent/consent.repository.js';
import { TOPIC_KINDS } from '../../src/consent/topics.schemas.js';
import { insertEmailMessage } from '../../src/mail/outbox.repository.js';
import { EMAIL_KIND_NAMES } from '../../src/shared/words.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { ensurePartner, insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { CSRF_NONCE_COOKIE, csrfFrom, linkIn, signedInAgent, linkPost } from '../helpers/session.js';

const FAKE_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

let ctx: TestContext;
let memberId: string;

/** The data page link's path, from the real e-mail the member received. */
async function requestLinkByMail(agent: Awaited<ReturnType<typeof signedInAgent>>, seen: number): Promise<string> {
  const csrf = await csrfFrom(agent, '/account/data');
  const res = await agent.post('/account/data').type('form').send({ _csrf: csrf }).expect(200);
  expect(res.text).toContain('Check your e-mail');
  const mails = await ctx.smtp.waitForCount(seen + 1);
  const mail = mails.filter((m) => m.envelopeTo.includes('grace@example.org') && m.parsed.subject?.includes('see your data')).at(-1);
  if (!mail) throw new Error('no data link mail');
  expect(mail.parsed.text).toContain('works once, for 30 minutes');
  return linkIn(mail.parsed.text ?? '', '/l/data/');
}

const downloadPath = (html: string) => {
  const action = /action="(\/l\/data-json\/[^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error('no download form on the data page');
  return action;
};

beforeAll(async () => {
  // Times on the data page are in the organisation's zone (issue 13.6).
  ctx = await startTestContext({ ORG_TIMEZONE: 'Europe/London' });
  await ctx.startWorker();
  memberId = await insertMember(ctx.db, 'grace@example.org', 'Grace Hopper');
  await ctx
    .db('members')
    .where({ id: memberId })
    .update({ postal_address: '1 Navy Yard\nArlington', phone: '+1 555 0100', password_hash: FAKE_HASH });
  const policyId = await insertPolicy(ctx.db, { version: '3.1' });
  const news = await insertTopic(ctx.db, { slug: 'monthly-bulletin', kind: 'newsletter', policyId });
  const sharing = await insertTopic(ctx.db, { slug: 'share-with-acme', kind: 'partner_data_sharing', policyId, partner: 'Acme Books' });
  await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
  await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_out', source: 'one_click', channel: 'email' });
  await recordConsent(ctx.db, {
    memberId,
    topicId: sharing,
    policyId,
    to: 'opted_in',
    source: 'staff',
    channel: 'phone',
    reference: 'call ref 4711',
  });
  const partnerId = await ensurePartner(ctx.db, 'Acme Books');
  await ctx.db('partners').where({ id: partnerId }).update({ contract_reference: 'K-1', terms_date: '2026-01-01' });
  const staffUserId = await insertStaffUser(ctx.db, { email: 'clerk@example.org', name: 'Clerk', role: 'admin', passwordHash: FAKE_HASH });
  const [disclosure] = await ctx
    .db('disclosures')
    .insert({ partner_id: partnerId, purpose: 'Posting the yearbook', legal_reference: null, staff_user_id: staffUserId })
    .returning('id');
  await ctx.db('disclosure_members').insert({ disclosure_id: (disclosure as { id: string }).id, member_id: memberId });
  await ctx.db('removal_requests').insert({ member_id: memberId, status: 'cancelled', cancelled_at: ctx.db.fn.now() });
});
afterAll(() => ctx.close());

describe('a member sees and downloads everything we hold about them', () => {
  let pagePath: string;
  let pageHtml: string;

  it('C5: a signed-in member asks for a fresh single-use link, mailed to their address', async () => {
    const agent = await signedInAgent(ctx, memberId);
    const page = await agent.get('/account/data').expect(200);
    expect(page.text).toContain('fresh link');
    expect(page.text).toMatch(/<form method="post" action="\/account\/data">\s*<input type="hidden" name="_csrf"/);
    pagePath = await requestLinkByMail(agent, ctx.smtp.messages.length);
    const row = await ctx.db('email_messages').where({ member_id: memberId, kind: 'data_link' }).first('status');
    expect(row).toBeDefined();
  });

  it('C5: the link shows a button and GET changes nothing; the POST shows details, choices, history, e-mails, disclosures and removal requests', async () => {
    const first = await request(ctx.http).get(pagePath).expect(200);
    expect(first.text).toContain('Show my data');
    expect(first.text).toContain(`action="${pagePath}"`);
    await request(ctx.http).get(pagePath).expect(200);

    const res = await linkPost(request(ctx.http), pagePath).expect(200);
    pageHtml = res.text;
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toEqual([expect.stringMatching(CSRF_NONCE_COOKIE)]);
    for (const heading of [
      'Your details',
      'Your choices now',
      'History of your choices',
      'E-mails we sent you',
      'Disclosures to partners',
      'Removal requests',
    ])
      expect(pageHtml).toContain(`>${heading}</h2>`);
    for (const text of ['Grace Hopper', 'grace@example.org', '1 Navy Yard<br>Arlington', '+1 555 0100', 'Set (we keep only a one-way hash'])
      expect(pageHtml).toContain(text);
    expect(pageHtml).not.toContain(FAKE_HASH);
    expect(pageHtml).toContain('monthly-bulletin');
    expect(pageHtml).toContain('share-with-acme');
    expect(pageHtml).toContain('You, by one-click unsubscribe');
    expect(pageHtml).toMatch(
      /<td>monthly-bulletin<\/td>\s*<td>Opted in → Opted out<\/td>\s*<td>You, by one-click unsubscribe, by e-mail<\/td>/,
    );
    expect(pageHtml).toContain('call ref 4711');
    expect(pageHtml).toContain('3.1');
    expect(pageHtml).toContain('Test Society: your link to see your data');
    expect(pageHtml).toContain('Cancelled');
    expect(pageHtml).toMatch(/<th scope="col">Partner<\/th>/);
  });

  it('C2: the data page shows every disclosure to a partner, with its purpose, and says we never share without consent', async () => {
    expect(pageHtml).toContain('Acme Books');
    expect(pageHtml).toContain('Posting the yearbook');
    expect(pageHtml).toContain('No: with your consent');
    expect(pageHtml).toContain('We never sell, rent or share your data');
  });

  it('C5: the link works once: a second POST or GET is refused', async () => {
    const again = await linkPost(request(ctx.http), pagePath).expect(400);
    expect(again.text).toContain('expired or was already used');
    await request(ctx.http).get(pagePath).expect(400);
  });

  it('C5: C2: the JSON download works without a cookie, once, as an attachment with the same data and no password hash', async () => {
    const path = downloadPath(pageHtml);
    const res = await linkPost(request(ctx.http), path).expect(200);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?assent-my-data\.json"?$/);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.text).toContain('\n  "generatedAt"');
    expect(res.text).not.toContain(FAKE_HASH);
    expect(res.text).not.toMatch(/password_?hash/i);
    const json = JSON.parse(res.text) as Record<string, unknown> & { details: Record<string, unknown> };
    expect(Object.keys(json)).toEqual([
      'generatedAt',
      'details',
      'currentChoices',
      'choiceHistory',
      'emailsSent',
      'disclosures',
      'removalRequests',
    ]);
    expect(json.details).toMatchObject({
      name: 'Grace Hopper',
      email: 'grace@example.org',
      postalAddress: '1 Navy Yard\nArlington',
      phone: '+1 555 0100',
      status: 'active',
      passwordSet: true,
    });
    expect(json.currentChoices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ topic: 'monthly-bulletin', status: 'opted_out', policyVersion: '3.1' }),
        expect.objectContaining({ topic: 'share-with-acme', status: 'opted_in', partner: 'Acme Books' }),
      ]),
    );
    expect(json.choiceHistory).toHaveLength(3);
    expect(json.choiceHistory).toContainEqual(
      expect.objectContaining({ source: 'staff', channel: 'phone', requestReference: 'call ref 4711' }),
    );
    expect(json.emailsSent).toContainEqual(
      expect.objectContaining({ kind: 'data_link', subject: 'Test Society: your link to see your data', recipient: 'grace@example.org' }),
    );
    expect(json.disclosures).toEqual([
      expect.objectContaining({ partner: 'Acme Books', purpose: 'Posting the yearbook', legalReference: null }),
    ]);
    expect(json.removalRequests).toEqual([expect.objectContaining({ status: 'cancelled' })]);

    await linkPost(request(ctx.http), path).expect(400);
  });

  it('C5: a download token cannot open the page, nor a page link download, and the refusal spends neither', async () => {
    const pageToken = await issueMemberToken(ctx.db, memberId, 'data', 30, { use: 'page' });
    await linkPost(request(ctx.http), `/l/data-json/${pageToken}`).expect(400);
    const res = await linkPost(request(ctx.http), `/l/data/${pageToken}`).expect(200);
    const downloadToken = downloadPath(res.text).split('/').at(-1)!;
    await request(ctx.http).get(`/l/data/${downloadToken}`).expect(400);
    await linkPost(request(ctx.http), `/l/data/${downloadToken}`).expect(400);
    await linkPost(request(ctx.http), `/l/data-json/${downloadToken}`).expect(200);
  });

  it('C2: a member with no disclosures is told there were none', async () => {
    const otherId = await insertMember(ctx.db, 'linus@example.org', 'Linus');
    const token = await issueMemberToken(ctx.db, otherId, 'data', 30, { use: 'page' });
    const res = await linkPost(request(ctx.http), `/l/data/${token}`).expect(200);
    expect(res.text).toContain('<strong>None:</strong> we have never disclosed your data to a partner.');
    expect(res.text).not.toContain('Grace Hopper');
    expect(res.text).toContain('Not set');
  });
});

describe('the data page reads as words (issue 13.6)', () => {
  it('shows codes as human words and times in ORG_TIMEZONE with the zone named, winter and summer', async () => {
    const id = await insertMember(ctx.db, 'ada@example.org', 'Ada');
    const policyId = await insertPolicy(ctx.db, { version: '4.0' });
    const offers = await insertTopic(ctx.db, { slug: 'event-offers', kind: 'third_party_offer', policyId, partner: 'Events Ltd' });
    await recordConsent(ctx.db, { memberId: id, topicId: offers, policyId, to: 'opted_in', source: 'member_link', channel: 'web' });
    await ctx
      .db('members')
      .where({ id })
      .update({ confirmed_at: new Date('2026-11-29T14:05:00Z') });
    await ctx.db('removal_requests').insert({
      member_id: id,
      status: 'unconfirmed',
      requested_at: new Date('2026-07-14T23:30:00Z'),
    });
    const emailId = randomUUID();
    await insertEmailMessage(ctx.db, {
      id: emailId,
      kind: 'data_link',
      recipient: 'ada@example.org',
      member_id: id,
      topic_id: null,
      message_id: `<${emailId}@assent.test>`,
      subject: 'Test Society: your link to see your data',
      text_body: 'x',
      html_body: '<p>x</p>',
      headers: {},
    });

    const token = await issueMemberToken(ctx.db, id, 'data', 30, { use: 'page' });
    const html = (await linkPost(request(ctx.http), `/l/data/${token}`).expect(200)).text;
    expect(html).toContain('<td>29 November 2026, 14:05 Greenwich Mean Time</td>');
    expect(html).toContain('<td>15 July 2026, 00:30 British Summer Time</td>');
    expect(html).toContain('(Offer from a partner: Events Ltd, by e-mail)');
    expect(html).toContain('You, from a link in an e-mail, on the website');
    expect(html).toContain('(Link to see your data)');
    expect(html).toContain('Waiting for your confirmation');
    expect(html).not.toMatch(/\bUTC\b/);
    const codes = [...TOPIC_KINDS, ...LEDGER_SOURCES, ...Object.keys(EMAIL_KIND_NAMES), 'opted_in', 'opted_out'].filter((c) =>
      c.includes('_'),
    );
    const shown = codes.filter((c) => new RegExp(`(?<![A-Za-z0-9_-])${c}(?![A-Za-z0-9_-])`).test(html));
    expect(shown).toEqual([]);
  });
});

describe('links and forms that must be refused', () => {
  it('C5: a tampered or expired link is refused with a clear page', async () => {
    await request(ctx.http).get('/l/data/not-a-token').expect(400);
    await linkPost(request(ctx.http), `/l/data/${'A'.repeat(43)}`).expect(400);
    await linkPost(request(ctx.http), `/l/data-json/${'A'.repeat(43)}`).expect(400);
    const token = await issueMemberToken(ctx.db, memberId, 'data', 30, { use: 'page' });
    await ctx
      .db('member_tokens')
      .where({ token_hash: hashToken(token) })
      .update({ expires_at: ctx.db.raw("now() - interval '1 second'") });
    const expired = await request(ctx.http).get(`/l/data/${token}`).expect(400);
    expect(expired.text).toContain('This link to your data has expired or was already used.');
    await linkPost(request(ctx.http), `/l/data/${token}`).expect(400);
  });

  it('C5: a link of another purpose (sign-in) does not open the data page', async () => {
    const token = await issueMemberToken(ctx.db, memberId, 'signin', 15);
    await linkPost(request(ctx.http), `/l/data/${token}`).expect(400);
  });

  it('C11: signed out, /account/data goes to the sign-in page; signed in, asking without the CSRF token is refused', async () => {
    const out = await request(ctx.http).get('/account/data').expect(303);
    expect(out.headers.location).toBe('/manage');
    const outPost = await request(ctx.http).post('/account/data').type('form').send({}).expect(403);
    expect(outPost.headers.location).toBeUndefined();
    const agent = await signedInAgent(ctx, memberId);
    await agent.get('/account/data').expect(200);
    await agent.post('/account/data').type('form').send({}).expect(403);
  });

  it('C11: asking for data links is rate-limited per member', async () => {
    const otherId = await insertMember(ctx.db, 'limit-data@example.org', 'Limit');
    const agent = await signedInAgent(ctx, otherId);
    const csrf = await csrfFrom(agent, '/account/data');
    let last = 0;
    for (let i = 0; i < 6; i++) last = (await agent.post('/account/data').type('form').send({ _csrf: csrf })).status;
    expect(last).toBe(429);
  });
});

describe('in a real browser', () => {
  it('C5: C9: with cookies blocked, the e-mailed link shows the data and downloads the file; every page passes axe WCAG 2.1 AA', async () => {
    const site = await serve(ctx.app);
    const withCookies = await launchBrowser({ cookies: true });
    const noCookies = await launchBrowser({ cookies: false });
    const violations: Record<string, string[]> = {};
    try {
      const member = await withCookies.context.newPage();
      await member.goto(`${site.url}/signin/${await issueMemberToken(ctx.db, memberId, 'signin', 15)}`);
      await member.getByRole('button', { name: 'Sign in' }).click();
      const freshLink = async (): Promise<string> => {
        await member.goto(`${site.url}/account`);
        await member.getByRole('link', { name: 'Your data', exact: true }).click();
        violations.request = await axeViolations(member);
        // Mail of earlier tests may still be arriving: wait for this request's own message.
        const before = new Set(ctx.smtp.messages);
        await member.getByRole('button', { name: 'E-mail me a link to my data' }).click();
        expect(await member.locator('h1').innerText()).toBe('Check your e-mail');
        violations.sent = await axeViolations(member);
        const mail = await ctx.smtp.waitFor(
          (m) => !before.has(m) && m.envelopeTo.includes('grace@example.org') && (m.parsed.subject ?? '').includes('see your data'),
        );
        return linkIn(mail.parsed.text ?? '', '/l/data/');
      };

      const page = await noCookies.context.newPage();
      for (const size of [
        { width: 1280, height: 900 },
        { width: 375, height: 740 },
      ]) {
        await page.setViewportSize(size);
        await page.goto(`${site.url}${await freshLink()}`);
        violations[`link ${size.width}`] = await axeViolations(page);
        await page.getByRole('button', { name: 'Show my data' }).click();
        expect(await page.locator('h1').innerText()).toBe('Everything we hold about you');
        const disclosures = page.getByRole('table', { name: 'Every disclosure of your data to a partner, newest first' });
        expect(await disclosures.innerText()).toContain('Acme Books');
        violations[`data ${size.width}`] = await axeViolations(page);
        // Wide tables scroll inside their own region; the page itself never scrolls sideways.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.width);
      }
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download my data (JSON file)' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('assent-my-data.json');
      const json = JSON.parse(readFileSync(await download.path(), 'utf8')) as { details: { email: string } };
      expect(json.details.email).toBe('grace@example.org');

      expect(await noCookies.context.cookies()).toEqual([]);
      expect(noCookies.errors).toEqual([]);
      expect(Object.fromEntries(Object.entries(violations).filter(([, v]) => v.length))).toEqual({});
    } finally {
      await noCookies.close();
      await withCookies.close();
      await site.close();
    }
  }, 150000);
});
