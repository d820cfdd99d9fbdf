import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Links } from '../../src/shared/links.js';
import { TEST_SECRET, type TestContext } from '../helpers/app.js';
import { startSeededContext } from '../helpers/seeded.js';
import { insertPolicy, insertTopic } from '../helpers/fixtures.js';
import { csrfFrom, signedInAgent } from '../helpers/session.js';
import { otherSpellings } from '../helpers/spellings.js';

let ctx: TestContext;
let ada: string;
let topic: Record<string, number>;
const links = new Links('http://assent.test', [TEST_SECRET]);

beforeAll(async () => {
  let member: Record<string, string>;
  ({ ctx, topic, member } = await startSeededContext());
  ada = member['ada@example.org']!;
});
afterAll(() => ctx.close());

const status = async (memberId: string, slug: string) =>
  (await ctx.db('consents').where({ member_id: memberId, topic_id: topic[slug] }).first('status'))?.status ?? 'none';

describe('the preference page', () => {
  it('C3: shows every topic with its description, channel and current choice', async () => {
    const agent = await signedInAgent(ctx, ada);
    const res = await agent.get('/preferences').expect(200);
    for (const name of [
      'Monthly bulletin',
      'Research digest',
      'Society announcements',
      'Offers from our conference partner',
      'Share my details with our insurance partner',
    ]) {
      expect(res.text).toContain(name);
    }
    expect(res.text).toContain('By e-mail.');
    expect(res.text).toMatch(new RegExp(`value="${topic['monthly-bulletin']}"[^>]*checked`));
    expect(res.text).not.toMatch(new RegExp(`value="${topic['research-digest']}"[^>]*checked`));
  });

  it('C14: saving writes one ledger event per change and one confirmation e-mail listing the changes and how to undo them', async () => {
    const agent = await signedInAgent(ctx, ada);
    const csrf = await csrfFrom(agent, '/preferences');
    const before = Number((await ctx.db('consent_ledger').where({ member_id: ada }).count({ n: '*' }))[0]?.n);
    const res = await agent
      .post('/preferences')
      .type('form')
      .send({
        _csrf: csrf,
        action: 'save',
        topics: [String(topic['research-digest']), String(topic['announcements']), String(topic['partner-offers'])],
      })
      .expect(303);
    expect(res.headers.location).toBe('/preferences?saved=2');
    expect(await status(ada, 'research-digest')).toBe('opted_in');
    expect(await status(ada, 'monthly-bulletin')).toBe('opted_out');
    const events = await ctx.db('consent_ledger').where({ member_id: ada }).orderBy('id', 'desc').limit(2);
    expect(Number((await ctx.db('consent_ledger').where({ member_id: ada }).count({ n: '*' }))[0]?.n)).toBe(before + 2);
    for (const e of events) expect(e).toMatchObject({ source: 'member_web', channel: 'web' });
    expect(Object.keys(events[0])).not.toContain('ip');
    const mail = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('ada@example.org') && (m.parsed.subject ?? '').includes('preferences have changed'),
    );
    expect(mail.parsed.text).toContain('Research digest: now subscribed (before: not subscribed)');
    expect(mail.parsed.text).toContain('Monthly bulletin: now not subscribed (before: subscribed)');
    expect(mail.parsed.text).toContain('Review or undo these changes: http://assent.test/p/');
    expect((await agent.get('/preferences?saved=2')).text).toContain('Your choices are saved (2 changes)');
  });

  it('C14: saving without a change writes nothing and sends nothing', async () => {
    const agent = await signedInAgent(ctx, ada);
    const csrf = await csrfFrom(agent, '/preferences');
    const mails = ctx.smtp.messages.length;
    const current = (await ctx.db('consents').where({ member_id: ada, status: 'opted_in' }).select('topic_id')).map(
      (r: { topic_id: number }) => String(r.topic_id),
    );
    await agent
      .post('/preferences')
      .type('form')
      .send({ _csrf: csrf, topics: current })
      .expect(303, /saved=0/);
    await new Promise((r) => setTimeout(r, 400));
    expect(ctx.smtp.messages.length).toBe(mails);
  });

  it('C3: unsubscribe from everything in one action, at once', async () => {
    const grace = (await ctx.db('members').where({ email: 'grace@example.org' }).first('id')).id;
    const agent = await signedInAgent(ctx, grace);
    const csrf = await csrfFrom(agent, '/preferences');
    await agent
      .post('/preferences')
      .type('form')
      .send({ _csrf: csrf, action: 'unsubscribe_all', topics: [String(topic['research-digest'])] })
      .expect(303);
    expect(await ctx.db('consents').where({ member_id: grace, status: 'opted_in' })).toHaveLength(0);
  });

  it('C9: from the manage link in an e-mail the page works with no cookie, and forms post the token back', async () => {
    const alan = (await ctx.db('members').where({ email: 'alan@example.org' }).first('id')).id;
    const path = new URL(links.manage(alan)).pathname;
    const page = await request(ctx.http).get(path).expect(200);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.text).toContain(`action="${path}"`);
    expect(page.text).not.toContain('name="_csrf"');
    const saved = await request(ctx.http)
      .post(path)
      .type('form')
      .send({ topics: [String(topic['announcements'])] })
      .expect(303);
    expect(saved.headers['set-cookie']).toBeUndefined();
    expect(await status(alan, 'announcements')).toBe('opted_in');
    expect(await ctx.db('consent_ledger').where({ member_id: alan, topic_id: topic['announcements'] }).first()).toMatchObject({
      source: 'member_link',
    });
  });

  it('C9: without a cookie the page is served before sessions and sign-in, and is the very page a browser with a session gets', async () => {
    const alan = (await ctx.db('members').where({ email: 'alan@example.org' }).first('id')).id as string;
    const path = new URL(links.manage(alan)).pathname;
    // A session nobody signed in to (the manage form's CSRF secret): the request goes the whole way down.
    const session = /^assent\.sid=[^;]+/.exec(String((await request(ctx.http).get('/manage')).headers['set-cookie']))![0];
    const cookieless = await request(ctx.http).get(path).expect(200);
    const withSession = await request(ctx.http).get(path).set('Cookie', session).expect(200);
    expect(cookieless.text).toBe(withSession.text);
    for (const header of ['content-security-policy', 'x-frame-options', 'referrer-policy', 'cache-control', 'content-type'])
      expect([header, cookieless.headers[header]]).toEqual([header, withSession.headers[header]]);
    expect(cookieless.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(cookieless.headers['set-cookie']).toBeUndefined();
  });

  it('C9: the page reached from an e-mail is not a dead end: it e-mails a sign-in link to the address on file, still without a cookie', async () => {
    const grace = (await ctx.db('members').where({ email: 'grace@example.org' }).first('id')).id as string;
    const path = new URL(links.manage(grace)).pathname;
    const page = await request(ctx.http).get(path).expect(200);
    expect(page.text).toContain(`action="${path}/signin-link"`);
    expect(page.text).toContain('we will e-mail a sign-in link to <strong>grace@example.org</strong>');
    const signinMails = () => ctx.db('email_messages').where({ member_id: grace, kind: 'signin_link' });
    const before = (await signinMails()).length;

    const sent = await request(ctx.http).post(`${path}/signin-link`).type('form').send({ email: 'attacker@example.org' }).expect(200);
    expect(sent.headers['set-cookie']).toBeUndefined();
    expect(sent.text).toContain('We have sent a sign-in link to <strong>grace@example.org</strong>');
    const mails = await signinMails();
    expect(mails).toHaveLength(before + 1);
    expect(mails.every((m: { recipient: string }) => m.recipient === 'grace@example.org')).toBe(true);
    expect(await ctx.db('email_messages').where({ recipient: 'attacker@example.org' })).toEqual([]);

    // A forged link cannot ask; a link voided by an e-mail change cannot either.
    await request(ctx.http)
      .post(`${path.slice(0, -3)}/signin-link`)
      .expect(400);
    await ctx
      .db('members')
      .where({ id: grace })
      .update({ links_valid_from: new Date(Date.now() + 5000) });
    const stale = await request(ctx.http).post(`${path}/signin-link`).expect(400);
    expect(stale.text).toContain('sent before the e-mail address of the membership changed');
    await ctx.db('members').where({ id: grace }).update({ links_valid_from: null });
    // Limited as asking by address is (5 per 15 minutes).
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await request(ctx.http).post(`${path}/signin-link`)).status);
    expect(answers.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(answers[4]).toBe(429);
    expect(await signinMails()).toHaveLength(before + 5);
  });

  it('C4: a tampered, truncated or re-pointed manage link changes nothing', async () => {
    const alan = (await ctx.db('members').where({ email: 'alan@example.org' }).first('id')).id;
    const good = new URL(links.manage(alan)).pathname;
    await request(ctx.http).get(good.slice(0, -3)).expect(400);
    await request(ctx.http).post(good.slice(0, -3)).type('form').send({ topics: [] }).expect(400);
    const other = new URL(new Links('http://assent.test', ['a-different-secret-key-0123456789abcdef']).manage(alan)).pathname;
    await request(ctx.http).post(other).type('form').send({ topics: [] }).expect(400);
    expect(await status(alan, 'announcements')).toBe('opted_in');
  });

  it('C4: a manage link has one spelling: padded, extended, re-cased or re-spelt tokens are refused and change nothing', async () => {
    const alan = (await ctx.db('members').where({ email: 'alan@example.org' }).first('id')).id;
    const good = new URL(links.manage(alan)).pathname.slice('/p/'.length);
    await request(ctx.http).get(`/p/${good}`).expect(200);
    for (const bad of otherSpellings(good)) {
      const path = `/p/${encodeURIComponent(bad)}`;
      expect([bad, (await request(ctx.http).get(path)).status]).toEqual([bad, 400]);
      expect([bad, (await request(ctx.http).post(path).type('form').send({ topics: [] })).status]).toEqual([bad, 400]);
    }
    expect(await status(alan, 'announcements')).toBe('opted_in');
  });

  it('an unknown topic id gets the page back with a message, never a 500', async () => {
    const agent = await signedInAgent(ctx, ada);
    const csrf = await csrfFrom(agent, '/preferences');
    const res = await agent
      .post('/preferences')
      .type('form')
      .send({ _csrf: csrf, topics: ['424242'] })
      .expect(422);
    expect(res.text).toContain('not a topic we offer');
    expect(res.text).toContain('Save my choices');
  });

  it('C8: a topic introduced by a later policy version is shown as new and unticked, and nobody is opted in to it', async () => {
    const later = await insertPolicy(ctx.db, { version: '1.1', publishedDaysAgo: 9, effectiveInDays: -1 });
    const newTopic = await insertTopic(ctx.db, { slug: 'member-survey', kind: 'newsletter', policyId: later });
    const agent = await signedInAgent(ctx, ada);
    const res = await agent.get('/preferences').expect(200);
    expect(res.text).toMatch(
      new RegExp(`id="topic-${newTopic}"[^>]*>\\s*<label for="topic-${newTopic}">member-survey <span class="badge">New</span>`),
    );
    expect(res.text).not.toMatch(new RegExp(`value="${newTopic}"[^>]*checked`));
    expect(await ctx.db('consents').where({ topic_id: newTopic })).toHaveLength(0);
  });
});

describe('the page from an e-mail link, read in one statement', () => {
  it('C7 C9: shows the banner of a version in its notice period, and reads member, choices and banner in one statement', async () => {
    const path = new URL(links.manage(ada)).pathname;
    const statements: string[] = [];
    const listen = (q: { sql: string }) => statements.push(q.sql);
    ctx.db.on('query', listen);
    try {
      const before = await request(ctx.http).get(path).expect(200);
      expect(before.text).not.toContain('Our privacy policy is changing');
      expect(statements).toHaveLength(1);
      await insertPolicy(ctx.db, { version: '9.0', publishedDaysAgo: 1, effectiveInDays: 10 });
      statements.length = 0;
      const during = await request(ctx.http).get(path).expect(200);
      expect(during.text).toContain('Our privacy policy is changing');
      expect(during.text).toContain('Version 9.0 takes effect on');
      expect(statements).toHaveLength(1);
    } finally {
      ctx.db.removeListener('query', listen);
    }
  });
});

describe('statements prepared once per connection', () => {
  it('C3 C4: a column added to members while the app runs breaks neither the page nor one-click', async () => {
    const page = new URL(links.manage(ada)).pathname;
    const oneClick = (topicId: number) => new URL(links.unsubscribe(ada, topicId).url).pathname;
    // Each pooled connection that serves these prepares the named statements.
    for (let i = 0; i < 12; i++) await request(ctx.http).get(page).expect(200);
    await request(ctx.http).post(oneClick(topic['research-digest']!)).type('form').send('List-Unsubscribe=One-Click').expect(200);
    await ctx.db.raw('ALTER TABLE members ADD COLUMN added_while_running text');
    try {
      for (let i = 0; i < 12; i++) await request(ctx.http).get(page).expect(200);
      await request(ctx.http).post(oneClick(topic['monthly-bulletin']!)).type('form').send('List-Unsubscribe=One-Click').expect(200);
      expect(await status(ada, 'monthly-bulletin')).toBe('opted_out');
    } finally {
      await ctx.db.raw('ALTER TABLE members DROP COLUMN added_while_running');
    }
  });
});
