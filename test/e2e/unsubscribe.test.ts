import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Links } from '../../src/shared/links.js';
import { TokenSigner } from '../../src/shared/tokens.js';
import { TEST_SECRET, type TestContext } from '../helpers/app.js';
import { insertMember, insertMemberOptedIn, recordConsent } from '../helpers/fixtures.js';
import { startSeededContext } from '../helpers/seeded.js';
import { otherSpellings } from '../helpers/spellings.js';

let ctx: TestContext;
let ada: string;
let topic: Record<string, number>;
const links = new Links('http://assent.test', [TEST_SECRET]);
const pathOf = (url: string) => new URL(url).pathname;

beforeAll(async () => {
  let member: Record<string, string>;
  ({ ctx, topic, member } = await startSeededContext());
  ada = member['ada@example.org']!;
});
afterAll(() => ctx.close());

const status = async (memberId: string, slug: string) =>
  (await ctx.db('consents').where({ member_id: memberId, topic_id: topic[slug] }).first('status'))?.status;

describe('C4: unsubscribe links', () => {
  it('C4: GET shows what will be unsubscribed and a button, and changes nothing', async () => {
    const path = pathOf(links.unsubscribe(ada, topic['monthly-bulletin']!).url);
    const res = await request(ctx.http).get(path).expect(200);
    expect(res.text).toContain('Unsubscribe from “Monthly bulletin”?');
    await request(ctx.http).get(path).expect(200);
    expect(await status(ada, 'monthly-bulletin')).toBe('opted_in');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('C4: the form POST unsubscribes at once without a cookie, confirms on the page with a way back, and by e-mail (C14)', async () => {
    const path = pathOf(links.unsubscribe(ada, topic['monthly-bulletin']!).url);
    const res = await request(ctx.http).post(path).type('form').send({}).expect(200);
    expect(res.text).toContain('You will receive nothing more from “Monthly bulletin”');
    expect(res.text).toMatch(/href="\/p\/[^"]+">Resubscribe or choose what you receive/);
    expect(await status(ada, 'monthly-bulletin')).toBe('opted_out');
    expect(
      await ctx.db('consent_ledger').where({ member_id: ada, topic_id: topic['monthly-bulletin'] }).orderBy('id', 'desc').first(),
    ).toMatchObject({
      source: 'unsubscribe_link',
      to_status: 'opted_out',
    });
    const mail = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('ada@example.org') && (m.parsed.subject ?? '').includes('preferences have changed'),
    );
    expect(mail.parsed.text).toContain('Monthly bulletin: now not subscribed');
    const again = await request(ctx.http).post(path).type('form').send({}).expect(200);
    expect(again.text).toContain('You were already unsubscribed');
  });

  it('C4: a one-click POST (RFC 8058) with no cookie and no CSRF token unsubscribes at once and answers 200 without a redirect; repeating changes nothing', async () => {
    const path = pathOf(links.unsubscribe(ada, 'all').url);
    const before = Number((await ctx.db('consent_ledger').where({ member_id: ada }).count({ n: '*' }))[0]?.n);
    const res = await request(ctx.http).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(await ctx.db('consents').where({ member_id: ada, status: 'opted_in' })).toHaveLength(0);
    const after = Number((await ctx.db('consent_ledger').where({ member_id: ada }).count({ n: '*' }))[0]?.n);
    expect(after).toBeGreaterThan(before);
    expect(await ctx.db('consent_ledger').where({ member_id: ada }).orderBy('id', 'desc').first()).toMatchObject({
      source: 'one_click',
      channel: 'email',
    });
    await request(ctx.http).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(Number((await ctx.db('consent_ledger').where({ member_id: ada }).count({ n: '*' }))[0]?.n)).toBe(after);
  });

  it('C4: one-click also accepts a multipart body', async () => {
    const grace = (await ctx.db('members').where({ email: 'grace@example.org' }).first('id')).id;
    const path = pathOf(links.unsubscribe(grace, topic['research-digest']!).url);
    await request(ctx.http).post(path).field('List-Unsubscribe', 'One-Click').expect(200);
    expect(await status(grace, 'research-digest')).toBe('opted_out');
  });

  it('C4: a tampered, truncated or re-pointed token gets a clear error page and changes nothing', async () => {
    const grace = (await ctx.db('members').where({ email: 'grace@example.org' }).first('id')).id;
    const good = links.unsubscribe(grace, topic['announcements']!).token;
    const [payload, kid, mac] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const repointed = `${Buffer.from(JSON.stringify({ ...claims, m: ada })).toString('base64url')}.${kid}.${mac}`;
    const widened = `${Buffer.from(JSON.stringify({ ...claims, s: 'all' })).toString('base64url')}.${kid}.${mac}`;
    for (const bad of [good.slice(0, -4), repointed, widened, 'garbage']) {
      const res = await request(ctx.http).post(`/unsubscribe/${bad}`).type('form').send('List-Unsubscribe=One-Click').expect(400);
      expect(res.text).toContain('This unsubscribe link is not valid');
    }
    expect(await status(grace, 'announcements')).toBe('opted_in');
  });

  it('C4: a link has one spelling: padded, extended, re-cased or re-spelt tokens are refused by GET and one-click POST and change nothing', async () => {
    const member = await insertMember(ctx.db, 'one-spelling@example.org');
    const policy = (await ctx.db('policy_versions').whereNotNull('published_at').first('id')).id;
    await recordConsent(ctx.db, {
      memberId: member,
      topicId: topic['monthly-bulletin']!,
      policyId: policy,
      to: 'opted_in',
      source: 'signup',
    });
    const events = async () => Number((await ctx.db('consent_ledger').where({ member_id: member }).count({ n: '*' }))[0]?.n);
    const before = await events();
    for (const scope of [topic['monthly-bulletin']!, 'all' as const]) {
      const good = links.unsubscribe(member, scope).token;
      await request(ctx.http).get(`/unsubscribe/${good}`).expect(200);
      for (const bad of otherSpellings(good)) {
        const path = `/unsubscribe/${encodeURIComponent(bad)}`;
        const shown = await request(ctx.http).get(path);
        expect([bad, shown.status]).toEqual([bad, 400]);
        expect(shown.text).toContain('This unsubscribe link is not valid');
        const posted = await request(ctx.http).post(path).type('form').send('List-Unsubscribe=One-Click');
        expect([bad, posted.status]).toEqual([bad, 400]);
      }
    }
    expect(await events()).toBe(before);
    expect(await status(member, 'monthly-bulletin')).toBe('opted_in');
  });

  it('C4: an unsubscribe link mailed before key separation (signed with the master key itself) still unsubscribes by one-click', async () => {
    const member = await insertMemberOptedIn(ctx.db, 'old-bulletin@example.org', [topic['research-digest']!]);
    const legacy = new TokenSigner([TEST_SECRET]).sign({ p: 'unsubscribe', m: member, s: String(topic['research-digest']) });
    expect(legacy).not.toBe(links.unsubscribe(member, topic['research-digest']!).token);
    await request(ctx.http).post(`/unsubscribe/${legacy}`).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(await status(member, 'research-digest')).toBe('opted_out');
  });

  it('C3: after an opt-out, a send that starts later does not reach the member for that topic', async () => {
    const { enqueueEmail } = await import('../../src/mail/outbox.js');
    const { sampleNotice } = await import('../helpers/emails.js');
    await ctx.stopWorker();
    const alan = (await ctx.db('members').where({ email: 'alan@example.org' }).first('id')).id;
    await ctx.db.transaction((trx) =>
      enqueueEmail(trx, sampleNotice('alan@example.org', alan, { topicId: topic['monthly-bulletin']!, kind: 'bulletin' }), ctx.outbox),
    );
    await request(ctx.http)
      .post(pathOf(links.unsubscribe(alan, topic['monthly-bulletin']!).url))
      .type('form')
      .send('List-Unsubscribe=One-Click')
      .expect(200);
    await ctx.startWorker();
    await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('alan@example.org') && (m.parsed.subject ?? '').includes('preferences have changed'),
    );
    const bulletin = await ctx.db('email_messages').where({ recipient: 'alan@example.org', kind: 'bulletin' }).first();
    for (let i = 0; i < 50 && (await ctx.db('email_messages').where({ id: bulletin.id }).first()).status === 'queued'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await ctx.db('email_messages').where({ id: bulletin.id }).first()).status).toBe('cancelled');
  });
});
