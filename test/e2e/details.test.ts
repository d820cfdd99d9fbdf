import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { hashToken } from '../../src/shared/secrets.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import type { CaughtMessage } from '../helpers/smtp.js';
import { insertMember } from '../helpers/fixtures.js';
import { CSRF_NONCE_COOKIE, csrfFrom, linkIn, signedInAgent, linkPost } from '../helpers/session.js';

/**
 * C5 and C14 on the details page, through HTTP against real PostgreSQL, reading the mail a real
 * SMTP server caught: what the member sees, what the database holds, and what each address is told.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
  await ctx.startWorker();
});
afterAll(() => ctx.close());

const mailTo = (to: string, subject: string, text = ''): Promise<CaughtMessage> =>
  ctx.smtp.waitFor((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject) && (m.parsed.text ?? '').includes(text));
const mailCount = (to: string, subject: string) =>
  ctx.smtp.messages.filter((m) => m.envelopeTo.includes(to) && (m.parsed.subject ?? '').includes(subject)).length;
const member = (id: string) => ctx.db('members').where({ id }).first('email', 'name', 'postal_address', 'phone', 'updated_at');
const settle = () => new Promise((r) => setTimeout(r, 500));

async function requestChange(memberId: string, email: string) {
  const agent = await signedInAgent(ctx, memberId);
  const csrf = await csrfFrom(agent, '/account/details');
  return agent.post('/account/details/email').type('form').send({ _csrf: csrf, email });
}

describe('C5: a member reviews and corrects their details', () => {
  it('C5: a signed-out visitor is sent to sign in, and cannot post the forms', async () => {
    const res = await request(ctx.http).get('/account/details').expect(303);
    expect(res.headers.location).toBe('/manage');
    await request(ctx.http).post('/account/details').type('form').send({ name: 'X' }).expect(403);
    await request(ctx.http).post('/account/details/email').type('form').send({ email: 'x@example.org' }).expect(403);
  });

  it('C5: the page shows name, postal address, phone and e-mail address, each with a visible label, in CSRF-protected forms', async () => {
    const id = await insertMember(ctx.db, 'mary@example.org', 'Mary Somerville');
    await ctx.db('members').where({ id }).update({ postal_address: '1 Chelsea Row\nLondon', phone: '+44 20 7946 0000' });
    const agent = await signedInAgent(ctx, id);
    const res = await agent.get('/account/details').expect(200);
    expect(res.text.match(/<h1>/g)).toHaveLength(1);
    for (const [field, label] of [
      ['name', 'Name'],
      ['postal_address', 'Postal address'],
      ['phone', 'Phone number'],
      ['email', 'New e-mail address'],
    ])
      expect(res.text).toContain(`<label for="${field}">${label}`);
    expect(res.text).toContain('value="Mary Somerville"');
    expect(res.text).toContain('>1 Chelsea Row\nLondon</textarea>');
    expect(res.text).toContain('value="+44 20 7946 0000"');
    expect(res.text).toContain('We write to <strong>mary@example.org</strong>');
    // The two forms of the page, and the header's sign-out button.
    expect(res.text.match(/name="_csrf" value="[^"]+"/g)).toHaveLength(3);
  });

  it('C5, C14: saving changed details updates the member and mails one confirmation that states each change and how to undo it', async () => {
    const id = await insertMember(ctx.db, 'ada@example.org', 'Ada Lovelace');
    await ctx.db('members').where({ id }).update({ postal_address: 'Old address' });
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    const res = await agent
      .post('/account/details')
      .type('form')
      .send({ _csrf: csrf, name: ' Ada King ', postal_address: '12 St James Square\r\nLondon', phone: '+44 (0)20 7946-0001' })
      .expect(303);
    expect(res.headers.location).toBe('/account/details?saved=1');
    expect((await agent.get('/account/details?saved=1').expect(200)).text).toContain('Your details are saved.');
    expect(await member(id)).toMatchObject({
      name: 'Ada King',
      postal_address: '12 St James Square\nLondon',
      phone: '+44 (0)20 7946-0001',
    });

    const mail = await mailTo('ada@example.org', 'your details were changed');
    const text = mail.parsed.text ?? '';
    expect(text).toContain('Dear Ada King,');
    expect(text).toContain('- Name: Ada Lovelace → Ada King');
    expect(text).toContain('- Postal address: changed');
    expect(text).toContain('- Phone number: added');
    expect(text).not.toContain('St James');
    expect(text).not.toContain('7946');
    expect(text).toContain('http://assent.test/account/details');
    expect(text).toContain('privacy@assent.test');
    const rows = await ctx.db('email_messages').where({ member_id: id, kind: 'details_changed' });
    expect(rows).toHaveLength(1);
  });

  it('C14: saving details that did not change writes nothing, says so, and sends no mail', async () => {
    const id = await insertMember(ctx.db, 'caroline@example.org', 'Caroline Herschel');
    const before = await member(id);
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    const res = await agent
      .post('/account/details')
      .type('form')
      .send({ _csrf: csrf, name: 'Caroline Herschel', postal_address: '  ', phone: '' })
      .expect(303);
    expect(res.headers.location).toBe('/account/details?unchanged=1');
    expect((await agent.get('/account/details?unchanged=1')).text).toContain('Nothing was changed');
    expect(await member(id)).toEqual(before);
    await settle();
    expect(await ctx.db('email_messages').where({ member_id: id })).toHaveLength(0);
    expect(mailCount('caroline@example.org', 'details')).toBe(0);
  });

  it('C5: bad input is refused with a message per field and the input kept; nothing is saved', async () => {
    const id = await insertMember(ctx.db, 'emilie@example.org', 'Émilie du Châtelet');
    const before = await member(id);
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    const res = await agent
      .post('/account/details')
      .type('form')
      .send({ _csrf: csrf, name: 'N'.repeat(201), postal_address: 'Cirey', phone: 'call me' })
      .expect(422);
    expect(res.text).toContain('Use at most 200 characters.');
    expect(res.text).toContain('Use only digits, spaces and + - ( ) . in a phone number.');
    expect(res.text).toContain(`value="${'N'.repeat(201)}"`);
    expect(res.text).toContain('value="call me"');
    expect(res.text).toContain('>Cirey</textarea>');
    expect(res.text).toContain('href="#phone"');
    expect(res.text.match(/aria-invalid="true"/g)).toHaveLength(2);
    const empty = await agent.post('/account/details').type('form').send({ _csrf: csrf, name: '   ' }).expect(422);
    expect(empty.text).toContain('Enter your name.');
    expect(await member(id)).toEqual(before);
  });

  it('C5: a name with a web address or a control character, or a postal address with a NUL, is a field message, never a 500; nothing is saved', async () => {
    const id = await insertMember(ctx.db, 'mileva@example.org', 'Mileva Marić');
    const before = await member(id);
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    const save = (fields: Record<string, string>) =>
      agent
        .post('/account/details')
        .type('form')
        .send({ _csrf: csrf, ...fields });
    const link = await save({ name: 'Visit http://evil.example/login' }).expect(422);
    expect(link.text).toContain('A name cannot contain a web address');
    expect(link.text).toContain('value="Visit http://evil.example/login"');
    for (const name of ['Mileva\u0000Marić', 'Mileva\r\nMarić', 'Mileva\u2028Marić'])
      expect((await save({ name }).expect(422)).text).toContain('Use plain text on one line');
    expect((await save({ name: 'Mileva Marić', postal_address: 'Zürich\u0000' }).expect(422)).text).toContain('control characters');
    await save({ name: 'Mileva Marić', phone: '+41\u0000' }).expect(422);
    expect(await member(id)).toEqual(before);
    await save({ name: 'Mileva Marić', postal_address: 'Kasernenstrasse 1\r\nZürich' }).expect(303);
    expect((await member(id)).postal_address).toBe('Kasernenstrasse 1\nZürich');
  });

  it('C11: saving details without the CSRF token is refused and changes nothing', async () => {
    const id = await insertMember(ctx.db, 'sophie@example.org', 'Sophie Germain');
    const agent = await signedInAgent(ctx, id);
    await agent.get('/account/details').expect(200);
    await agent.post('/account/details').type('form').send({ name: 'Someone Else' }).expect(403);
    await agent.post('/account/details/email').type('form').send({ email: 'evil@example.org' }).expect(403);
    expect(await member(id)).toMatchObject({ name: 'Sophie Germain', email: 'sophie@example.org' });
  });
});

describe('C5: changing the e-mail address', () => {
  it('C5, C14: the new address takes effect only from the link sent to it; the old address is told of the request and of the change; the link works once', async () => {
    const id = await insertMember(ctx.db, 'grace@example.org', 'Grace Hopper');
    const res = await requestChange(id, 'grace.new@example.org');
    expect(res.status).toBe(200);
    expect(res.text).toContain('We sent a link to <strong>grace.new@example.org</strong>. Your address changes when you open it.');
    expect((await member(id))?.email).toBe('grace@example.org');

    const notice = await mailTo('grace@example.org', 'a change of your e-mail address was requested');
    expect(notice.parsed.text).toContain('asked to change its e-mail address to grace.new@example.org');
    expect(notice.parsed.text).toContain('If this was not you, sign in at http://assent.test/manage');
    const verify = await mailTo('grace.new@example.org', 'confirm your new e-mail address');
    expect(verify.parsed.text).not.toContain('Grace');
    const path = linkIn(verify.parsed.text ?? '', '/l/email/');

    const page = await request(ctx.http).get(path).expect(200);
    expect(page.text).toContain('Confirm my new address');
    expect(page.text).toContain('grace.new@example.org');
    expect(page.headers['set-cookie']).toEqual([expect.stringMatching(CSRF_NONCE_COOKIE)]);
    await request(ctx.http).get(path).expect(200);
    expect((await member(id))?.email).toBe('grace@example.org');

    const done = await linkPost(request(ctx.http), path).expect(200);
    expect(done.text).toContain('From now on we write to <strong>grace.new@example.org</strong>');
    expect(done.headers['set-cookie']).toBeUndefined();
    expect((await member(id))?.email).toBe('grace.new@example.org');

    const confirmed = await mailTo('grace.new@example.org', 'your e-mail address was changed');
    expect(confirmed.parsed.text).toContain('- E-mail address: grace@example.org → grace.new@example.org');
    expect(confirmed.parsed.text).toContain('http://assent.test/account/details');
    const told = await mailTo('grace@example.org', 'your e-mail address was changed');
    expect(told.parsed.text).toContain('E-mail address: grace@example.org → grace.new@example.org');
    expect(told.parsed.text).toContain('We will not write to this address any more.');
    expect(told.parsed.text).toContain('privacy@assent.test');

    const again = await linkPost(request(ctx.http), path).expect(400);
    expect(again.text).toContain('expired or was already used');
    await request(ctx.http).get(path).expect(400);
    const agent = await signedInAgent(ctx, id);
    expect((await agent.get('/account/details')).text).toContain('We write to <strong>grace.new@example.org</strong>');
  });

  it('C5: an address that belongs to another member gets the same answer; the mail to it says it is in use, and nothing changes', async () => {
    const id = await insertMember(ctx.db, 'hedy@example.org', 'Hedy Lamarr');
    const ownerId = await insertMember(ctx.db, 'owner@example.org', 'Owner');
    const taken = await requestChange(id, 'owner@example.org');
    const free = await requestChange(id, 'hedy.new@example.org');
    expect(taken.status).toBe(200);
    expect(free.status).toBe(200);
    // The same page; only the header's sign-out form carries a fresh CSRF token each time.
    const same = (text: string, address: string) => text.replaceAll(address, 'X').replace(/name="_csrf" value="[^"]+"/g, '');
    expect(same(taken.text, 'owner@example.org')).toBe(same(free.text, 'hedy.new@example.org'));

    const inUse = await mailTo('owner@example.org', 'this address is already in use');
    expect(inUse.parsed.text).toContain('already belongs to another membership, so nothing was changed');
    expect(inUse.parsed.text).not.toContain('/l/email/');
    expect(inUse.parsed.text).not.toContain('Hedy');
    const [row] = await ctx.db('email_messages').where({ kind: 'email_in_use', recipient: 'owner@example.org' });
    expect(row.member_id).toBeNull();
    await mailTo('hedy@example.org', 'a change of your e-mail address was requested', 'to owner@example.org.');
    await mailTo('hedy@example.org', 'a change of your e-mail address was requested', 'to hedy.new@example.org.');
    await mailTo('hedy.new@example.org', 'confirm your new e-mail address');

    const tokens = await ctx.db('member_tokens').where({ member_id: id, purpose: 'email_verify' }).select('data');
    expect(tokens.map((t) => t.data)).toEqual([{ email: 'hedy.new@example.org' }]);
    expect((await member(id))?.email).toBe('hedy@example.org');
    expect((await member(ownerId))?.email).toBe('owner@example.org');
  });

  it('C5: asking for the address the member already has, or a malformed one, is a field error with the input kept', async () => {
    const id = await insertMember(ctx.db, 'lise@example.org', 'Lise Meitner');
    const same = await requestChange(id, 'LISE@example.org');
    expect(same.status).toBe(422);
    expect(same.text).toContain('That is already your e-mail address.');
    expect(same.text).toContain('value="LISE@example.org"');
    const bad = await requestChange(id, 'not an address');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('Enter an e-mail address like name@example.org.');
    expect(bad.text).toContain('value="not an address"');
    expect(bad.text).toContain('value="Lise Meitner"');
    await settle();
    expect(await ctx.db('email_messages').where({ member_id: id })).toHaveLength(0);
  });

  it('C5: an expired, tampered, replaced or wrong-purpose link gets a clear 400 page and changes nothing', async () => {
    const id = await insertMember(ctx.db, 'rosalind@example.org', 'Rosalind Franklin');
    await request(ctx.http).get('/l/email/not-a-token').expect(400);
    await linkPost(request(ctx.http), `/l/email/${'A'.repeat(43)}`).expect(400);
    const expired = await issueMemberToken(ctx.db, id, 'email_verify', 60, { email: 'rosalind.x@example.org' });
    await ctx
      .db('member_tokens')
      .where({ token_hash: hashToken(expired) })
      .update({ expires_at: ctx.db.raw("now() - interval '1 second'") });
    const page = await request(ctx.http).get(`/l/email/${expired}`).expect(400);
    expect(page.text).toContain('This confirmation link has expired or was already used.');
    await linkPost(request(ctx.http), `/l/email/${expired}`).expect(400);
    const signin = await issueMemberToken(ctx.db, id, 'signin', 15);
    await linkPost(request(ctx.http), `/l/email/${signin}`).expect(400);

    await requestChange(id, 'rosalind.first@example.org');
    const first = linkIn((await mailTo('rosalind.first@example.org', 'confirm your new')).parsed.text ?? '', '/l/email/');
    await requestChange(id, 'rosalind.second@example.org');
    await linkPost(request(ctx.http), first).expect(400);
    expect((await member(id))?.email).toBe('rosalind@example.org');
  });

  it('C5: if another member takes the address before the link is used, nothing changes and the page says so', async () => {
    const id = await insertMember(ctx.db, 'ada.y@example.org', 'Ada Yonath');
    await requestChange(id, 'late@example.org');
    const path = linkIn((await mailTo('late@example.org', 'confirm your new')).parsed.text ?? '', '/l/email/');
    await insertMember(ctx.db, 'late@example.org', 'Quicker Member');
    const res = await linkPost(request(ctx.http), path).expect(409);
    expect(res.text).toContain('That address now belongs to another membership, so your e-mail address was not changed.');
    expect((await member(id))?.email).toBe('ada.y@example.org');
    await settle();
    expect(mailCount('ada.y@example.org', 'your e-mail address was changed')).toBe(0);
  });

  it('C5: when another member takes the address at the very moment of the change, the unique index refuses it and the page is the same 409, never a 500', async () => {
    const id = await insertMember(ctx.db, 'barbara@example.org', 'Barbara McClintock');
    await requestChange(id, 'race@example.org');
    const path = linkIn((await mailTo('race@example.org', 'confirm your new')).parsed.text ?? '', '/l/email/');
    const other = await ctx.db.transaction();
    await other('members').insert({ email: 'race@example.org', name: 'Racer', status: 'active', confirmed_at: other.fn.now() });
    const pending = linkPost(request(ctx.http), path).then((r) => r);
    // The change's check cannot see the uncommitted row, so its write waits on the unique index.
    let blocked = false;
    for (let i = 0; i < 100 && !blocked; i++) {
      const { rows } = await ctx.db.raw<{ rows: unknown[] }>(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      blocked = rows.length > 0;
      if (!blocked) await new Promise((r) => setTimeout(r, 50));
    }
    await other.commit();
    const res = await pending;
    expect(blocked).toBe(true);
    expect(res.status).toBe(409);
    expect(res.text).toContain('now belongs to another membership');
    expect((await member(id))?.email).toBe('barbara@example.org');
    expect(ctx.logLines.filter((l) => l.event === 'http.unhandled_error')).toEqual([]);
  });

  it('C11: e-mail change requests are rate-limited per member', async () => {
    const id = await insertMember(ctx.db, 'ida@example.org', 'Ida Noddack');
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (
          await agent
            .post('/account/details/email')
            .type('form')
            .send({ _csrf: csrf, email: `ida${i}@example.org` })
        ).status,
      );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('C5: changing the address needs a recent sign-in; an older session is asked to sign in again and nothing is sent', async () => {
    const id = await insertMember(ctx.db, 'stale@example.org', 'Stale Session');
    const agent = await signedInAgent(ctx, id);
    const csrf = await csrfFrom(agent, '/account/details');
    await ctx.db.raw(
      `UPDATE sessions SET sess = jsonb_set(sess::jsonb, '{passport,user,at}', to_jsonb(?::bigint))::json WHERE sess::text LIKE ?`,
      [Date.now() - 16 * 60 * 1000, `%${id}%`],
    );
    const res = await agent.post('/account/details/email').type('form').send({ _csrf: csrf, email: 'new-stale@example.org' }).expect(422);
    expect(res.text).toContain('needs a recent sign-in');
    expect(res.text).toContain('value="new-stale@example.org"');
    await settle();
    expect(ctx.smtp.messages.some((m) => m.envelopeTo.includes('new-stale@example.org'))).toBe(false);
    expect(await ctx.db('member_tokens').where({ member_id: id, purpose: 'email_verify' })).toHaveLength(0);
  });
});
