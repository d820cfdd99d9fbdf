import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { hashPassword } from '../../src/auth/passwords.js';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember } from '../helpers/fixtures.js';
import { csrfFrom, linkPost } from '../helpers/session.js';
import { createStaff, freshTotpCode, STAFF_PASSWORD, type Agent } from '../helpers/staff.js';

/**
 * Lock-out after OWASP (issue 7, point 2): only failures count; the lock is keyed on the address
 * and the network, so a guesser locks out only their own network; a slower ceiling per address
 * from everywhere makes staff give password and second factor together and pauses member password
 * sign-in (links still work); the owner is told of a burst by e-mail.
 */
let ctx: TestContext;

beforeAll(async () => {
  // Behind a proxy, the network is taken from X-Forwarded-For: each test plays several networks.
  ctx = await startTestContext({ TRUST_PROXY: 'true' });
});
afterAll(() => ctx.close());

const net = (n: number) => `10.0.${n}.7`;

async function staffLogin(from: string, email: string, password: string, code?: string, agent: Agent = request.agent(ctx.http)) {
  const _csrf = await csrfFrom(agent, '/admin/login');
  return agent
    .post('/admin/login')
    .set('X-Forwarded-For', from)
    .type('form')
    .send({ _csrf, email, password, ...(code ? { code } : {}) });
}

async function memberLogin(from: string, email: string, password: string) {
  const agent = request.agent(ctx.http);
  const _csrf = await csrfFrom(agent, '/manage');
  return agent.post('/manage/password').set('X-Forwarded-For', from).type('form').send({ _csrf, email, password });
}

const mails = (to: string, kind: string) => ctx.db('email_messages').where({ recipient: to, kind }).select('text_body');

describe('C11: staff lock-out counts failures only, per address and network', () => {
  it('C11: eight wrong passwords from one network do not stop the right one from another network', async () => {
    await createStaff(ctx, 'target@example.org', 'support');
    for (let i = 0; i < 8; i++) await staffLogin(net(1), 'target@example.org', 'wrong password!');
    const right = await staffLogin(net(2), 'target@example.org', STAFF_PASSWORD);
    expect([right.status, right.headers.location]).toEqual([303, '/admin/login/totp']);
  });

  it('C11: right answers are not counted: a staff user signing in again and again is never locked', async () => {
    await createStaff(ctx, 'busy@example.org', 'auditor');
    for (let i = 0; i < 12; i++) expect((await staffLogin(net(3), 'busy@example.org', STAFF_PASSWORD)).status).toBe(303);
  });

  it('C11: the guessing network is locked for that address, even with the right password; others are not', async () => {
    await createStaff(ctx, 'guessed@example.org', 'support');
    for (let i = 0; i < 5; i++) expect((await staffLogin(net(4), 'guessed@example.org', 'wrong password!')).status).toBe(422);
    expect((await staffLogin(net(4), 'guessed@example.org', STAFF_PASSWORD)).status).toBe(429);
    expect((await staffLogin(net(4), 'someone.else@example.org', 'wrong password!')).status).toBe(422);
    expect((await staffLogin(net(5), 'guessed@example.org', STAFF_PASSWORD)).status).toBe(303);
  });

  it('C11: a burst from many networks protects the address: the password alone never signs in, password and code together do; the owner is mailed once', async () => {
    const id = await createStaff(ctx, 'spread@example.org', 'admin');
    for (let i = 0; i < 20; i++) await staffLogin(net(100 + i), 'spread@example.org', `wrong password ${i}`);
    const rightAlone = await staffLogin(net(200), 'spread@example.org', STAFF_PASSWORD);
    const wrongAlone = await staffLogin(net(201), 'spread@example.org', 'another wrong one');
    expect([rightAlone.status, wrongAlone.status]).toEqual([422, 422]);
    const strip = (t: string) => t.replace(/value="[^"]*"/g, '');
    // Nothing tells a right password from a wrong one.
    expect(strip(rightAlone.text)).toBe(strip(wrongAlone.text));
    expect(rightAlone.text).toContain('enter your password and your current two-factor code');
    expect(rightAlone.text).toContain('name="code"');
    const wrongWithCode = await staffLogin(net(202), 'spread@example.org', 'still wrong', await freshTotpCode(ctx, id));
    expect(wrongWithCode.status).toBe(422);
    const agent = request.agent(ctx.http);
    const both = await staffLogin(net(203), 'spread@example.org', STAFF_PASSWORD, await freshTotpCode(ctx, id), agent);
    expect([both.status, both.headers.location]).toEqual([303, '/admin']);
    await agent.get('/admin').expect(200);
    const alerts = await mails('spread@example.org', 'staff_failed_sign_ins');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text_body).toContain('failed attempts to sign in to your staff account');
  });

  it('C11: failures from one network across many addresses lock that network', async () => {
    for (let i = 0; i < 40; i++) await staffLogin(net(30), `stuffing${i}@example.org`, 'wrong password!');
    expect((await staffLogin(net(30), 'target@example.org', STAFF_PASSWORD)).status).toBe(429);
    expect((await staffLogin(net(31), 'target@example.org', STAFF_PASSWORD)).status).toBe(303);
    // 42 argon2 verifications: seconds on an idle machine, more under load.
  }, 120_000);
});

describe('C11: member password lock-out', () => {
  const PASSWORD = 'member password 1';

  it('C11: failures only, per network; at the address ceiling password sign-in pauses, a link still signs in, the member is mailed', async () => {
    const id = await insertMember(ctx.db, 'guessed.member@example.org', 'Guessed Member');
    await ctx
      .db('members')
      .where({ id })
      .update({ password_hash: await hashPassword(PASSWORD) });
    for (let i = 0; i < 12; i++) await memberLogin(net(40), 'guessed.member@example.org', 'wrong');
    expect((await memberLogin(net(40), 'guessed.member@example.org', PASSWORD)).status).toBe(429);
    const fromElsewhere = await memberLogin(net(41), 'guessed.member@example.org', PASSWORD);
    expect([fromElsewhere.status, fromElsewhere.headers.location]).toEqual([303, '/account']);

    for (let i = 0; i < 30; i++) await memberLogin(net(50 + i), 'guessed.member@example.org', `wrong ${i}`);
    const paused = await memberLogin(net(90), 'guessed.member@example.org', PASSWORD);
    expect(paused.status).toBe(422);
    expect(paused.text).toContain('Password sign-in for this address is paused');
    const link = await linkPost(request(ctx.http), `/signin/${await issueMemberToken(ctx.db, id, 'signin', 15)}`);
    expect(link.status).toBe(303);
    const alerts = await mails('guessed.member@example.org', 'failed_sign_ins');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text_body).toContain('a sign-in link by e-mail always works');
  });
});
