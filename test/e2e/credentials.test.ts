import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { Links } from '../../src/shared/links.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy } from '../helpers/fixtures.js';
import { csrfFrom, linkPost, signedInAgent } from '../helpers/session.js';
import type { Agent } from '../helpers/staff.js';

/**
 * Credentials that outlive an account change (issue 7, point 3): an e-mail change revokes every
 * link sent before it, a password change, removal or e-mail change ends every other session, the
 * password page asks for proof, and a member's session ends when idle.
 */
let ctx: TestContext;

beforeAll(async () => {
  ctx = await startTestContext();
  await insertPolicy(ctx.db, { version: '1.0' });
});
afterAll(() => ctx.close());

const PASSWORD = 'the old password';
const NEW_PASSWORD = 'a completely new password';

/** Moves the session's clocks back: when it signed in, and when it was last seen. */
async function age(memberId: string, field: 'at' | 'lastSeen', minutes: number): Promise<void> {
  const path = field === 'at' ? '{passport,user,at}' : '{lastSeen}';
  await ctx.db.raw(
    `UPDATE sessions SET sess = jsonb_set(sess::jsonb, ?::text[], to_jsonb(?::bigint))::json
     WHERE sess::jsonb #>> '{passport,user,id}' = ?`,
    [path, Date.now() - minutes * 60 * 1000, memberId],
  );
}

const signedIn = async (agent: Agent) => (await agent.get('/account')).status === 200;
const sessionsOf = async (memberId: string) =>
  (await ctx.db('sessions').whereRaw(`sess::jsonb #>> '{passport,user,id}' = ?`, [memberId]).select('sid')).length;

async function memberWithPassword(email: string): Promise<string> {
  const id = await insertMember(ctx.db, email, 'Member');
  await ctx
    .db('members')
    .where({ id })
    .update({ password_hash: await hashPassword(PASSWORD) });
  return id;
}

async function post(agent: Agent, path: string, form: Record<string, string>, page = path) {
  const _csrf = await csrfFrom(agent, page);
  return agent
    .post(path)
    .type('form')
    .send({ _csrf, ...form });
}

describe('C11: an e-mail change revokes what was sent to the old address', () => {
  it('C11: sign-in, data and removal links sent before the change stop working once the new address is confirmed', async () => {
    const id = await insertMember(ctx.db, 'old.address@example.org', 'Old Address');
    const signin = await issueMemberToken(ctx.db, id, 'signin', 15);
    const data = await issueMemberToken(ctx.db, id, 'data', 30, { use: 'page' });
    const [removal] = (await ctx.db('removal_requests').insert({ member_id: id, status: 'unconfirmed' }).returning('id')) as {
      id: string;
    }[];
    const removalLink = await issueMemberToken(ctx.db, id, 'removal', 30, { requestId: removal!.id });
    const verify = await issueMemberToken(ctx.db, id, 'email_verify', 60, { email: 'new.address@example.org' });

    await linkPost(request(ctx.http), `/l/email/${verify}`).expect(200);
    expect((await ctx.db('members').where({ id }).first('email')).email).toBe('new.address@example.org');

    await linkPost(request(ctx.http), `/signin/${signin}`).expect(400);
    await linkPost(request(ctx.http), `/l/data/${data}`).expect(400);
    await linkPost(request(ctx.http), `/l/removal/${removalLink}`).expect(400);
    expect((await ctx.db('removal_requests').where({ id: removal!.id }).first('status')).status).toBe('unconfirmed');
  });

  it('C11 C4: a manage link mailed before the change stops working, the one mailed with the change works, unsubscribe links keep working', async () => {
    const id = await insertMember(ctx.db, 'manage.old@example.org', 'Manage Old');
    const links = new Links('http://assent.test', ctx.config.secretKeys);
    const before = new URL(links.manage(id)).pathname;
    const unsubscribe = new URL(links.unsubscribe(id, 'all').url).pathname;
    await request(ctx.http).get(before).expect(200);
    // Issue times are whole seconds: a link issued in the very second of the change still counts as new.
    await new Promise((r) => setTimeout(r, 1100));
    const verify = await issueMemberToken(ctx.db, id, 'email_verify', 60, { email: 'manage.new@example.org' });
    await linkPost(request(ctx.http), `/l/email/${verify}`).expect(200);

    const refused = await request(ctx.http).get(before).expect(400);
    expect(refused.text).toContain('sent before the e-mail address of the membership changed');
    await request(ctx.http).post(before).type('form').send({ action: 'unsubscribe_all' }).expect(400);
    const changed = await ctx.db('email_messages').where({ member_id: id, kind: 'email_changed' }).first('text_body');
    const fresh = /https?:\/\/\S+(\/p\/\S+)/.exec(changed.text_body as string)![1]!;
    await request(ctx.http).get(fresh).expect(200);
    await request(ctx.http).post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
  });

  it('C11: every session of the member ends, except the browser that confirmed (under a new session id)', async () => {
    const id = await insertMember(ctx.db, 'two.browsers@example.org', 'Two Browsers');
    const elsewhere = await signedInAgent(ctx, id);
    const here = await signedInAgent(ctx, id);
    const sidBefore = (await ctx.db('sessions').select('sid')).map((r: { sid: string }) => r.sid);
    const verify = await issueMemberToken(ctx.db, id, 'email_verify', 60, { email: 'one.browser@example.org' });
    await linkPost(here, `/l/email/${verify}`).expect(200);
    expect(await signedIn(here)).toBe(true);
    expect(await signedIn(elsewhere)).toBe(false);
    const remaining = (await ctx.db('sessions').whereRaw(`sess::jsonb #>> '{passport,user,id}' = ?`, [id]).select('sid')) as {
      sid: string;
    }[];
    expect(remaining).toHaveLength(1);
    expect(sidBefore).not.toContain(remaining[0]!.sid);
  });

  it('C11: confirming from a browser with no session ends every session of the member', async () => {
    const id = await insertMember(ctx.db, 'from.phone@example.org', 'From Phone');
    const laptop = await signedInAgent(ctx, id);
    const verify = await issueMemberToken(ctx.db, id, 'email_verify', 60, { email: 'from.phone.new@example.org' });
    await linkPost(request(ctx.http), `/l/email/${verify}`).expect(200);
    expect(await signedIn(laptop)).toBe(false);
    expect(await sessionsOf(id)).toBe(0);
  });
});

describe('C11: a password change or removal needs proof and ends the other sessions', () => {
  it('C11 C14: changing the password with the current one ends every other session; this browser stays signed in under a new id', async () => {
    const id = await memberWithPassword('changer@example.org');
    const other = await signedInAgent(ctx, id);
    const me = await signedInAgent(ctx, id);
    await age(id, 'at', 20);
    const sidBefore = (await ctx.db('sessions').select('sid')).map((r: { sid: string }) => r.sid);
    const res = await post(me, '/account/password', { current: PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect([res.status, res.headers.location]).toEqual([303, '/account?notice=password-set']);
    expect(await signedIn(me)).toBe(true);
    expect(await signedIn(other)).toBe(false);
    const [mine] = (await ctx.db('sessions').whereRaw(`sess::jsonb #>> '{passport,user,id}' = ?`, [id]).select('sid')) as { sid: string }[];
    expect(sidBefore).not.toContain(mine!.sid);
    const mail = await ctx.db('email_messages').where({ member_id: id, kind: 'password_set' }).first('subject', 'text_body');
    expect(mail.subject).toContain('your password was changed');
    expect(mail.text_body).toContain('Every other browser signed in to your account was signed out.');
  });

  it('C11: without the current password, a change needs a sign-in within 15 minutes; a wrong current password is refused', async () => {
    const id = await memberWithPassword('stale@example.org');
    const me = await signedInAgent(ctx, id);
    await age(id, 'at', 16);
    const stale = await post(me, '/account/password', { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(stale.status).toBe(422);
    expect(stale.text).toContain('Enter your current password.');
    const wrong = await post(me, '/account/password', { current: 'not it', password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('That is not your current password.');
    const hash = (await ctx.db('members').where({ id }).first('password_hash')).password_hash;
    expect(hash).not.toBeNull();
    const fresh = await signedInAgent(ctx, id);
    const ok = await post(fresh, '/account/password', { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(ok.status).toBe(303);
    expect(await signedIn(me)).toBe(false);
  });

  it('C11: setting a first password needs a sign-in within 15 minutes', async () => {
    const id = await insertMember(ctx.db, 'first.password@example.org', 'First Password');
    const me = await signedInAgent(ctx, id);
    await age(id, 'at', 16);
    const refused = await post(me, '/account/password', { password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('sign in again with a link');
    expect((await ctx.db('members').where({ id }).first('password_hash')).password_hash).toBeNull();
    await age(id, 'at', 1);
    expect((await post(me, '/account/password', { password: NEW_PASSWORD, confirm: NEW_PASSWORD })).status).toBe(303);
  });

  it('C11 C14: removing the password needs the same proof, ends the other sessions and is confirmed by e-mail', async () => {
    const id = await memberWithPassword('remover@example.org');
    const other = await signedInAgent(ctx, id);
    const me = await signedInAgent(ctx, id);
    await age(id, 'at', 20);
    const page = await me.get('/account/password/remove').expect(200);
    expect(page.text).toContain('Remove your password?');
    const wrong = await post(me, '/account/password/remove', { current: 'nope' }, '/account/password/remove');
    expect(wrong.status).toBe(422);
    const ok = await post(me, '/account/password/remove', { current: PASSWORD }, '/account/password/remove');
    expect([ok.status, ok.headers.location]).toEqual([303, '/account?notice=password-removed']);
    expect((await ctx.db('members').where({ id }).first('password_hash')).password_hash).toBeNull();
    expect(await signedIn(me)).toBe(true);
    expect(await signedIn(other)).toBe(false);
    expect(await ctx.db('email_messages').where({ member_id: id, kind: 'password_removed' }).first('id')).toBeDefined();
  });
});

describe('C11: a member session ends when idle', () => {
  it('C11: after 30 minutes without a request the member is signed out and told why; a sign-in link still works', async () => {
    const id = await insertMember(ctx.db, 'idle.member@example.org', 'Idle Member');
    const agent = await signedInAgent(ctx, id);
    await age(id, 'lastSeen', 29);
    await agent.get('/account').expect(200);
    await age(id, 'lastSeen', 31);
    const expired = await agent.get('/preferences').expect(303);
    expect(expired.headers.location).toBe('/manage?expired=1');
    expect((await agent.get('/manage?expired=1')).text).toContain('signed out after 30 minutes without activity');
    expect(await signedIn(agent)).toBe(false);
    await linkPost(agent, `/signin/${await issueMemberToken(ctx.db, id, 'signin', 15)}`).expect(303);
    expect(await signedIn(agent)).toBe(true);
  });

  it('C11: pages seen within a minute write nothing to the session; after a minute the idle clock moves and the row lives on', async () => {
    const id = await insertMember(ctx.db, 'quiet.session@example.org', 'Quiet Session');
    const agent = await signedInAgent(ctx, id);
    const row = async () =>
      ctx.db('sessions').whereRaw(`sess::jsonb #>> '{passport,user,id}' = ?`, [id]).first('expire', ctx.db.raw('sess::text as sess'));
    const expireIn = (interval: string) =>
      ctx
        .db('sessions')
        .whereRaw(`sess::jsonb #>> '{passport,user,id}' = ?`, [id])
        .update({ expire: ctx.db.raw(`now() + interval '${interval}'`) });
    await agent.get('/account').expect(200);
    // A marker a write would move: an expiry of an hour, where every save sets eight.
    await expireIn('1 hour');
    const before = await row();
    await agent.get('/preferences').expect(200);
    await agent.get('/account').expect(200);
    expect(await row()).toEqual(before);

    // Two minutes later, with an hour left on the row: the save that records the visit sets the 8-hour expiry again.
    await age(id, 'lastSeen', 2);
    await expireIn('1 hour');
    const aged = await row();
    await agent.get('/account').expect(200);
    const after = await row();
    expect(JSON.parse(after.sess).lastSeen).toBeGreaterThan(JSON.parse(aged.sess).lastSeen);
    expect(after.expire.getTime()).toBeGreaterThan(Date.now() + 7 * 60 * 60 * 1000);
  });

  it('C11: the idle limit is configurable (MEMBER_IDLE_MINUTES)', async () => {
    const short = await startTestContext({ MEMBER_IDLE_MINUTES: '5' });
    try {
      const id = await insertMember(short.db, 'short.idle@example.org', 'Short Idle');
      const agent = await signedInAgent(short, id);
      await short.db.raw(`UPDATE sessions SET sess = jsonb_set(sess::jsonb, '{lastSeen}', to_jsonb(?::bigint))::json`, [
        Date.now() - 6 * 60 * 1000,
      ]);
      expect((await agent.get('/account')).headers.location).toBe('/manage?expired=1');
    } finally {
      await short.close();
    }
  });
});
