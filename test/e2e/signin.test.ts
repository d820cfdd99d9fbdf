import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { hashPassword } from '../../src/auth/passwords.js';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { hashToken } from '../../src/shared/secrets.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember } from '../helpers/fixtures.js';
import { csrfFrom, linkIn, signedInAgent, linkPost, pressLinkButton } from '../helpers/session.js';

let ctx: TestContext;
let memberId: string;
beforeAll(async () => {
  ctx = await startTestContext();
  await ctx.startWorker();
  memberId = await insertMember(ctx.db, 'ada@example.org', 'Ada Lovelace');
});
afterAll(() => ctx.close());

describe('signing in by e-mail link', () => {
  it('answers the same for a known and an unknown address, and mails a link only to the member', async () => {
    const known = await request(ctx.http).post('/manage').type('form').send({ email: 'ADA@example.org' }).expect(200);
    const unknown = await request(ctx.http).post('/manage').type('form').send({ email: 'nobody@example.org' }).expect(200);
    // The page repeats the address typed (to catch a typo), and says nothing about whether it is a member's.
    expect(known.text).toContain('If <strong>ADA@example.org</strong> belongs to a member');
    const strip = (s: string, typed: string) => s.replace(/[0-9a-f-]{36}/g, '').replace(typed, 'TYPED');
    expect(strip(known.text, 'ADA@example.org')).toBe(strip(unknown.text, 'nobody@example.org'));
    expect(known.headers['set-cookie']).toBeUndefined();
    const mail = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('ada@example.org') && m.parsed.subject?.includes('sign-in link') === true,
    );
    expect(mail.parsed.text).toContain('works once, for 15 minutes');
    await new Promise((r) => setTimeout(r, 300));
    expect(ctx.smtp.messages.some((m) => m.envelopeTo.includes('nobody@example.org'))).toBe(false);
  });

  it('the link shows a button (GET changes nothing), signs in once with a fresh session, and cannot be reused', async () => {
    const mail = await ctx.smtp.waitFor(
      (m) => m.envelopeTo.includes('ada@example.org') && m.parsed.subject?.includes('sign-in link') === true,
    );
    const path = linkIn(mail.parsed.text ?? '', '/signin/');
    const agent = request.agent(ctx.http);
    await agent.get(path).expect(200);
    const res = await pressLinkButton(agent, path);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^assent\.sid=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    // Opaque: neither the address nor the member id (a random id may contain any three letters).
    expect(cookie).not.toContain('ada%40');
    expect(cookie).not.toContain(memberId);
    expect((await agent.get('/account').expect(200)).text).toContain('Ada Lovelace');
    const again = await linkPost(request(ctx.http), path).expect(400);
    expect(again.text).toContain('expired or was already used');
    await request(ctx.http).get(path).expect(400);
  });

  it('refuses a tampered or expired link with a clear page', async () => {
    await request(ctx.http).get('/signin/not-a-token').expect(400);
    await linkPost(request(ctx.http), `/signin/${'A'.repeat(43)}`).expect(400);
    const token = await issueMemberToken(ctx.db, memberId, 'signin', 15);
    await ctx
      .db('member_tokens')
      .where({ token_hash: hashToken(token) })
      .update({ expires_at: ctx.db.raw("now() - interval '1 second'") });
    const expired = await request(ctx.http).get(`/signin/${token}`).expect(400);
    expect(expired.text).toContain('This sign-in link has expired or was already used.');
    await linkPost(request(ctx.http), `/signin/${token}`).expect(400);
  });

  it('shows field messages and keeps the input for a bad address', async () => {
    const res = await request(ctx.http).post('/manage').type('form').send({ email: 'not an address' }).expect(422);
    expect(res.text).toContain('Enter an e-mail address like name@example.org.');
    expect(res.text).toContain('value="not an address"');
    expect(res.text).toContain('aria-invalid="true"');
  });

  it('C11: limits link requests per address', async () => {
    let last = 0;
    for (let i = 0; i < 7; i++) last = (await request(ctx.http).post('/manage').type('form').send({ email: 'limit@example.org' })).status;
    expect(last).toBe(429);
  });

  it('C11: signing in regenerates the session id, so a session planted before sign-in is worthless', async () => {
    const agent = request.agent(ctx.http);
    const before = String((await agent.get('/manage')).headers['set-cookie']).split(';')[0] as string;
    const token = await issueMemberToken(ctx.db, memberId, 'signin', 15);
    const after = String((await linkPost(agent, `/signin/${token}`).expect(303)).headers['set-cookie']).split(';')[0] as string;
    expect(before).toMatch(/^assent\.sid=/);
    expect(after).toMatch(/^assent\.sid=/);
    expect(after).not.toBe(before);
    await request(ctx.http).get('/account').set('Cookie', before).expect(303);
    await request(ctx.http).get('/account').set('Cookie', after).expect(200);
  });

  it('signs out, ending the session', async () => {
    const agent = await signedInAgent(ctx, memberId);
    const csrf = await csrfFrom(agent, '/account');
    await agent.post('/signout').type('form').send({ _csrf: csrf }).expect(303).expect('Location', '/signed-out');
    expect((await agent.get('/signed-out').expect(200)).text).toContain('You are signed out');
    const after = await agent.get('/account').expect(303);
    expect(after.headers.location).toBe('/manage');
  });
});

describe('signing in with a password', () => {
  it('C11: a member may set a password (argon2id) and sign in with it; a wrong one gets a field message', async () => {
    const agent = await signedInAgent(ctx, memberId);
    const csrf = await csrfFrom(agent, '/account/password');
    const short = await agent.post('/account/password').type('form').send({ _csrf: csrf, password: 'short', confirm: 'short' });
    expect(short.status).toBe(422);
    expect(short.text).toContain('Use at least 10 characters.');
    await agent
      .post('/account/password')
      .type('form')
      .send({ _csrf: csrf, password: 'correct horse battery', confirm: 'correct horse battery' })
      .expect(303)
      .expect('Location', '/account?notice=password-set');
    const row = await ctx.db('members').where({ id: memberId }).first('password_hash');
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await ctx.smtp.waitFor((m) => m.parsed.subject?.includes('your password was set') === true);

    const visitor = request.agent(ctx.http);
    const pwCsrf = await csrfFrom(visitor, '/manage');
    const wrong = await visitor
      .post('/manage/password')
      .type('form')
      .send({ _csrf: pwCsrf, email: 'ada@example.org', password: 'wrong password' })
      .expect(422);
    expect(wrong.text).toContain('do not match');
    expect(wrong.text).toContain('value="ada@example.org"');
    await visitor
      .post('/manage/password')
      .type('form')
      .send({ _csrf: pwCsrf, email: 'ada@example.org', password: 'correct horse battery' })
      .expect(303);
    await visitor.get('/account').expect(200);
  });

  it('hashPassword produces argon2id with at least m=19 MiB, t=2', async () => {
    expect(await hashPassword('x'.repeat(12))).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
