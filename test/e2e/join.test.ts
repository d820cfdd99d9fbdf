import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runMaintenance } from '../../src/jobs.js';
import type { TestContext } from '../helpers/app.js';
import { startSeededContext } from '../helpers/seeded.js';
import { linkIn, linkPost } from '../helpers/session.js';
import type { CaughtMessage } from '../helpers/smtp.js';

let ctx: TestContext;
let topic: Record<string, number>;
beforeAll(async () => {
  ({ ctx, topic } = await startSeededContext());
});
afterAll(() => ctx.close());

const join = (fields: Record<string, string | string[]>) => request(ctx.http).post('/join').type('form').send(fields);
const mailTo = (to: string, subject: string) =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject));

describe('joining', () => {
  it('C1: the join form ticks nothing, third-party offers and partner sharing included', async () => {
    const res = await request(ctx.http).get('/join').expect(200);
    expect(res.text).not.toMatch(/name="topics" value="\d+"[^>]*checked/);
    expect(res.text).toContain('Offers from our partners');
    expect(res.text).toContain('Sharing your details with a partner');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('C1: nothing is pre-ticked: a fresh form ticks no topic of any kind, and a form sent back shows only what the visitor ticked', async () => {
    const res = await request(ctx.http).get('/join').expect(200);
    expect([...res.text.matchAll(/name="topics" value="\d+"/g)].length).toBeGreaterThanOrEqual(4);
    expect(res.text).not.toMatch(/name="topics" value="\d+"[^>]*checked/);
    const back = await join({ name: 'Unticked', email: 'unticked@example.org', topics: [String(topic.announcements)] }).expect(422);
    const ticked = [...back.text.matchAll(/name="topics" value="(\d+)"[^>]*checked/g)].map((m) => Number(m[1]));
    expect(ticked).toEqual([topic.announcements]);
  });

  it('C13: without the minimum-age confirmation nothing is stored, and the input is kept', async () => {
    const res = await join({ name: 'Young Person', email: 'young@example.org', topics: [String(topic['monthly-bulletin'])] }).expect(422);
    expect(res.text).toContain('Please confirm that you are 16 or older.');
    expect(res.text).toContain('value="Young Person"');
    expect(res.text).toMatch(new RegExp(`value="${topic['monthly-bulletin']}"[^>]*checked`));
    expect(await ctx.db('pending_signups').where({ email: 'young@example.org' })).toHaveLength(0);
    expect(await ctx.db('members').where({ email: 'young@example.org' })).toHaveLength(0);
  });

  it('bad input gets a message per field with the input kept, never a 500', async () => {
    const res = await join({
      name: 'x'.repeat(201),
      email: 'not-an-address',
      phone: 'call me',
      postal_address: 'y'.repeat(1001),
      age_confirmed: 'yes',
    }).expect(422);
    for (const msg of [
      'at most 200 characters',
      'Enter an e-mail address like',
      'Use only digits, spaces and + - ( ) . in a phone number.',
      'at most 1000 characters',
    ])
      expect(res.text).toContain(msg);
    expect(res.text).toContain('value="not-an-address"');
    const unknownTopic = await join({ name: 'A', email: 'a@example.org', topics: ['99999'], age_confirmed: 'yes' }).expect(422);
    expect(unknownTopic.text).toContain('not a topic we offer');
    const notNumber = await join({ name: 'A', email: 'a@example.org', topics: ['drop table'], age_confirmed: 'yes' }).expect(422);
    expect(notNumber.text).toContain('not a topic we offer');
    await join({}).expect(422);
  });

  it('C15: a sign-up takes effect only when the owner confirms it from the e-mail; C8: consents record the policy version', async () => {
    const res = await join({
      name: 'Mary Somerville',
      email: 'mary@example.org',
      topics: [String(topic['monthly-bulletin']), String(topic['partner-offers'])],
      age_confirmed: 'yes',
    }).expect(200);
    expect(res.text).toContain('Check your e-mail');
    expect(await ctx.db('members').where({ email: 'mary@example.org' })).toHaveLength(0);
    const mail = await mailTo('mary@example.org', 'please confirm your membership');
    expect(mail.parsed.text).toContain('Monthly bulletin');
    expect(mail.raw).not.toMatch(/^List-Unsubscribe:/m);
    const path = linkIn(mail.parsed.text ?? '', '/join/confirm/');
    await request(ctx.http).get(path).expect(200);
    expect(await ctx.db('members').where({ email: 'mary@example.org' })).toHaveLength(0);
    const done = await linkPost(request(ctx.http), path).expect(200);
    expect(done.text).toContain('Your membership is confirmed');
    const member = await ctx.db('members').where({ email: 'mary@example.org' }).first();
    expect(member).toMatchObject({ status: 'active', name: 'Mary Somerville' });
    const ledger = await ctx
      .db('consent_ledger as e')
      .join('policy_versions as p', 'p.id', 'e.policy_version_id')
      .where('e.member_id', member.id)
      .select('e.topic_id', 'e.source', 'e.to_status', 'p.version');
    expect(ledger).toEqual(
      expect.arrayContaining([
        { topic_id: topic['monthly-bulletin'], source: 'signup', to_status: 'opted_in', version: '1.0' },
        { topic_id: topic['partner-offers'], source: 'signup', to_status: 'opted_in', version: '1.0' },
      ]),
    );
    expect(ledger).toHaveLength(2);
    await mailTo('mary@example.org', 'welcome');
    // Pressed again: nothing changes, and the page says the membership is confirmed (issue 13.10).
    const again = await linkPost(request(ctx.http), path).expect(200);
    expect(again.text).toContain('Your membership is already confirmed');
    expect(await ctx.db('members').where({ email: 'mary@example.org' })).toHaveLength(1);
  });

  it('C15 C9: a used confirmation link of a confirmed member says so, never "sign up again", and mails the preference link to the member instead of showing it', async () => {
    await join({ name: 'Emilie du Chatelet', email: 'emilie@example.org', age_confirmed: 'yes' }).expect(200);
    await join({ name: 'Emilie du Chatelet', email: 'emilie@example.org', age_confirmed: 'yes' }).expect(200);
    const isConfirm = (m: CaughtMessage) =>
      m.envelopeTo.includes('emilie@example.org') && (m.parsed.subject ?? '').includes('please confirm');
    await ctx.smtp.waitFor((m) => isConfirm(m) && ctx.smtp.messages.filter(isConfirm).length >= 2);
    const [first, second] = ctx.smtp.messages.filter(isConfirm);
    const used = linkIn(first!.parsed.text ?? '', '/join/confirm/');
    const sibling = linkIn(second!.parsed.text ?? '', '/join/confirm/');
    await linkPost(request(ctx.http), used).expect(200);
    // The link used, and the other link of the same sign-up, both say the membership is confirmed; cookieless.
    for (const path of [used, sibling]) {
      const page = await request(ctx.http).get(path).expect(200);
      expect(page.text).toContain('Your membership is already confirmed');
      expect(page.text).not.toMatch(/sign up again/i);
      expect(page.text).not.toContain('/p/');
      expect(page.headers['set-cookie']).toBeUndefined();
    }
    const sent = await request(ctx.http).post(`${sibling}/preferences-link`).expect(200);
    expect(sent.text).toContain('Check your e-mail');
    expect(sent.text).toContain('<strong>emilie@example.org</strong>');
    const mail = await mailTo('emilie@example.org', 'the link to your preferences');
    const prefs = linkIn(mail.parsed.text ?? '', '/p/');
    expect((await request(ctx.http).get(prefs).expect(200)).text).toContain('What we send you');
    const member = await ctx.db('members').where({ email: 'emilie@example.org' }).first('id');
    expect(await ctx.db('email_messages').where({ member_id: member.id, kind: 'preferences_link' })).toHaveLength(1);
  });

  it('C11 C6: a used confirmation link stops speaking for the membership after an e-mail change, and is forgotten after 30 days', async () => {
    await join({ name: 'Hypatia', email: 'hypatia@example.org', age_confirmed: 'yes' }).expect(200);
    const path = linkIn((await mailTo('hypatia@example.org', 'please confirm')).parsed.text ?? '', '/join/confirm/');
    await linkPost(request(ctx.http), path).expect(200);
    await request(ctx.http).get(path).expect(200);
    const member = await ctx.db('members').where({ email: 'hypatia@example.org' }).first('id');
    await ctx
      .db('members')
      .where({ id: member.id })
      .update({ links_valid_from: ctx.db.raw("now() + interval '1 second'") });
    const changed = await request(ctx.http).get(path).expect(400);
    expect(changed.text).toContain('expired or was already used');
    await request(ctx.http).post(`${path}/preferences-link`).expect(400);
    await ctx.db('members').where({ id: member.id }).update({ links_valid_from: null });
    await request(ctx.http).get(path).expect(200);
    await ctx
      .db('used_signup_links')
      .where({ member_id: member.id })
      .update({ confirmed_at: ctx.db.raw("now() - interval '31 days'") });
    await request(ctx.http).get(path).expect(400);
    await runMaintenance(ctx.db, ctx.config);
    expect(await ctx.db('used_signup_links').where({ member_id: member.id })).toHaveLength(0);
  });

  it('C15: a second sign-up for a known address shows the same page, and mails the owner their link instead', async () => {
    const fresh = await join({ name: 'New Person', email: 'new@example.org', age_confirmed: 'yes' }).expect(200);
    const known = await join({ name: 'Someone', email: 'ada@example.org', age_confirmed: 'yes' }).expect(200);
    // The same page, naming the address typed (issue 13.10).
    expect(known.text.replace('ada@example.org', 'ADDRESS')).toBe(fresh.text.replace('new@example.org', 'ADDRESS'));
    const mail = await mailTo('ada@example.org', 'you are already a member');
    expect(mail.parsed.text).toContain('/p/');
    expect(await ctx.db('pending_signups').where({ email: 'ada@example.org' })).toHaveLength(0);
  });

  it('C15: unconfirmed sign-ups expire: the link stops working and the purge deletes them', async () => {
    await join({ name: 'Late', email: 'late@example.org', age_confirmed: 'yes' }).expect(200);
    const mail = await mailTo('late@example.org', 'please confirm');
    await ctx
      .db('pending_signups')
      .where({ email: 'late@example.org' })
      .update({ expires_at: ctx.db.raw("now() - interval '1 second'") });
    const path = linkIn(mail.parsed.text ?? '', '/join/confirm/');
    const res = await request(ctx.http).get(path).expect(400);
    expect(res.text).toContain('expired or was already used');
    await linkPost(request(ctx.http), path).expect(400);
    expect((await runMaintenance(ctx.db, ctx.config)).signupsPurged).toBeGreaterThanOrEqual(1);
    expect(await ctx.db('pending_signups').where({ email: 'late@example.org' })).toHaveLength(0);
    expect(await ctx.db('members').where({ email: 'late@example.org' })).toHaveLength(0);
  });
});

describe('what a stranger can put into the join form', () => {
  it('a name that is a web address or holds line breaks is refused with a field message, the input kept, and nothing stored', async () => {
    for (const name of ['Visit http://evil.example/login to finish', 'evil.example/login', 'www.evil.example', 'Claim at bad.io']) {
      const res = await join({ name, email: 'linkname@example.org', age_confirmed: 'yes' }).expect(422);
      expect(res.text).toContain('A name cannot contain a web address');
      expect(res.text).toContain('value="linkname@example.org"');
    }
    const broken = await join({ name: 'Dear friend\r\nVisit us', email: 'linkname@example.org', age_confirmed: 'yes' }).expect(422);
    expect(broken.text).toContain('Use plain text on one line');
    expect(await ctx.db('pending_signups').where({ email: 'linkname@example.org' })).toHaveLength(0);
  });

  it('a NUL byte or other control character in the name or postal address is a field message, never a 500', async () => {
    const nul = await join({ name: 'Ada\u0000Byron', email: 'nul@example.org', age_confirmed: 'yes' }).expect(422);
    expect(nul.text).toContain('Use plain text on one line');
    const address = await join({ name: 'Ada Byron', email: 'nul@example.org', postal_address: '1 Road\u0000', age_confirmed: 'yes' });
    expect(address.status).toBe(422);
    expect(address.text).toContain('control characters');
    await join({ name: 'Ada Byron', email: 'nul@example.org', postal_address: '1 Road\u2028Town', age_confirmed: 'yes' }).expect(422);
    expect(await ctx.db('pending_signups').where({ email: 'nul@example.org' })).toHaveLength(0);
  });

  it('line breaks in the postal address are its line separators, stored as LF', async () => {
    await join({ name: 'Ada Byron', email: 'lines@example.org', postal_address: '1 Road\r\nTown\rCounty', age_confirmed: 'yes' }).expect(
      200,
    );
    const row = await ctx.db('pending_signups').where({ email: 'lines@example.org' }).first('postal_address');
    expect(row.postal_address).toBe('1 Road\nTown\nCounty');
  });
});

describe('joining again with the same address, and what the unconfirmed address is told', () => {
  it('C15: joining again with the same address keeps the earlier link working; confirming one retires the others', async () => {
    await join({ name: 'Twice Joined', email: 'twice@example.org', age_confirmed: 'yes' }).expect(200);
    const first = await mailTo('twice@example.org', 'please confirm your membership');
    await join({ name: 'Twice Joined', email: 'twice@example.org', age_confirmed: 'yes' }).expect(200);
    const second = await ctx.smtp.waitFor((m) => m !== first && m.envelopeTo.includes('twice@example.org'));
    const firstLink = linkIn(first.parsed.text ?? '', '/join/confirm/');
    const secondLink = linkIn(second.parsed.text ?? '', '/join/confirm/');
    expect(firstLink).not.toBe(secondLink);
    await request(ctx.http).get(firstLink).expect(200);
    await request(ctx.http).get(secondLink).expect(200);
    expect(await ctx.db('pending_signups').where({ email: 'twice@example.org' })).toHaveLength(2);

    await linkPost(request(ctx.http), firstLink).expect(200);
    expect(await ctx.db('members').where({ email: 'twice@example.org', status: 'active' })).toHaveLength(1);
    // The other sign-up's personal data is gone with the confirmation, and its link says the membership is confirmed (issue 13.10).
    expect(await ctx.db('pending_signups').where({ email: 'twice@example.org' })).toHaveLength(0);
    expect((await request(ctx.http).get(secondLink).expect(200)).text).toContain('Your membership is already confirmed');
    expect((await linkPost(request(ctx.http), secondLink).expect(200)).text).toContain('Your membership is already confirmed');
    expect(await ctx.db('members').where({ email: 'twice@example.org' })).toHaveLength(1);
  });

  it('the confirmation mail to a not yet confirmed address greets without the name the form was given', async () => {
    await join({ name: 'Ada Byron', email: 'unconfirmed@example.org', age_confirmed: 'yes' }).expect(200);
    const mail = await mailTo('unconfirmed@example.org', 'please confirm your membership');
    expect(mail.parsed.text).toContain('Hello,');
    expect(mail.parsed.text).not.toContain('Ada Byron');
    expect(mail.parsed.html).not.toContain('Ada Byron');
  });

  it('C15: two links of one address confirmed at the same moment make one member; the other link says it is already confirmed', async () => {
    for (let i = 0; i < 2; i++) await join({ name: 'Race Twice', email: 'race@example.org', age_confirmed: 'yes' }).expect(200);
    const toRace = (m: CaughtMessage) => m.envelopeTo.includes('race@example.org');
    const first = await ctx.smtp.waitFor(toRace);
    const second = await ctx.smtp.waitFor((m) => toRace(m) && m !== first);
    const links = [first, second].map((m) => linkIn(m.parsed.text ?? '', '/join/confirm/'));
    expect(new Set(links).size).toBe(2);
    const answers = await Promise.all(links.map((link) => linkPost(request(ctx.http), link)));
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    const said = answers.map((r) =>
      r.text.includes('already confirmed') ? 'already' : r.text.includes('Your membership is confirmed') ? 'welcome' : '?',
    );
    expect(said.sort()).toEqual(['already', 'welcome']);
    expect(await ctx.db('members').where({ email: 'race@example.org' })).toHaveLength(1);
    expect(await ctx.db('pending_signups').where({ email: 'race@example.org' })).toHaveLength(0);
  });
});
