import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { purposeKey } from '../../src/shared/keys.js';
import { Links } from '../../src/shared/links.js';
import { seedDatabase } from '../../src/shared/migrate.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { CSRF_NONCE_COOKIE, linkPost, signedInAgent } from '../helpers/session.js';

let ctx: TestContext;
let ada: string;
const links = new Links('http://assent.test', [TEST_SECRET]);

beforeAll(async () => {
  ctx = await startTestContext();
  await seedDatabase(ctx.db);
  ada = (await ctx.db('members').where({ email: 'ada@example.org' }).first('id')).id;
});
afterAll(() => ctx.close());

describe('C9: cookies are a convenience, never a requirement, and carry nothing personal', () => {
  it('C9: no public page sets a cookie; an e-mail-link page with a button sets only an opaque CSRF nonce; only the password sign-in form needs a session', async () => {
    const noCookie = (label: string, res: request.Response) =>
      expect([label, res.status < 500, res.headers['set-cookie']]).toEqual([label, true, undefined]);
    noCookie('home', await request(ctx.http).get('/'));
    noCookie('privacy', await request(ctx.http).get('/privacy'));
    noCookie('join form', await request(ctx.http).get('/join'));
    noCookie(
      'join post',
      await request(ctx.http).post('/join').type('form').send({ name: 'N', email: 'n@example.org', age_confirmed: 'yes' }),
    );
    noCookie('link request', await request(ctx.http).post('/manage').type('form').send({ email: 'ada@example.org' }));
    noCookie('manage link', await request(ctx.http).get(new URL(links.manage(ada)).pathname));
    noCookie('unsubscribe link', await request(ctx.http).get(new URL(links.unsubscribe(ada, 'all').url).pathname));
    for (const [purpose, path] of [
      ['signin', `/signin/${await issueMemberToken(ctx.db, ada, 'signin', 10)}`],
      ['data', `/l/data/${await issueMemberToken(ctx.db, ada, 'data', 10, { use: 'page' })}`],
      ['email', `/l/email/${await issueMemberToken(ctx.db, ada, 'email_verify', 10, { email: 'ada.new@example.org' })}`],
    ]) {
      const res = await request(ctx.http).get(path as string);
      expect([purpose, res.status, res.text]).toEqual([purpose, 200, expect.stringContaining('name="_confirm"')]);
      expect([purpose, res.headers['set-cookie']]).toEqual([purpose, [expect.stringMatching(CSRF_NONCE_COOKIE)]]);
    }
    const manage = await request(ctx.http).get('/manage');
    const cookie = String(manage.headers['set-cookie']);
    expect(cookie).toMatch(/^assent\.sid=s%3A[A-Za-z0-9_-]+\.[A-Za-z0-9%+/=_-]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
  });

  it('C9: the session row holds only the CSRF secret before sign-in, and a kind and an id after', async () => {
    const agent = request.agent(ctx.http);
    await agent.get('/manage');
    const [before] = await ctx.db('sessions').select('sess');
    expect(Object.keys(before.sess).sort()).toEqual(['cookie', 'csrfToken']);
    const token = await issueMemberToken(ctx.db, ada, 'signin', 10);
    await linkPost(agent, `/signin/${token}`).expect(303);
    const sessions = await ctx.db('sessions').select('sess');
    const signedIn = sessions.find((s: { sess: { passport?: unknown } }) => s.sess.passport);
    expect(signedIn.sess.passport).toEqual({ user: { kind: 'member', id: ada, at: expect.any(Number) } });
    expect(JSON.stringify(signedIn.sess)).not.toContain('ada@example.org');
  });

  it('C11: the session cookie is signed with its own derived key; a cookie signed with the master key or another purpose key is not a session', async () => {
    // express-session's cookie: "s:" + id + "." + base64(HMAC-SHA256(secret, id)) without padding.
    const signature = (sid: string, key: string) => createHmac('sha256', key).update(sid).digest('base64').replace(/=+$/, '');
    const cookie = (sid: string, key: string) => `assent.sid=${encodeURIComponent(`s:${sid}.${signature(sid, key)}`)}`;
    const set = decodeURIComponent(
      /^assent\.sid=([^;]+)/.exec(String((await request(ctx.http).get('/manage')).headers['set-cookie']))![1]!,
    );
    const [, sid, sig] = /^s:([^.]+)\.(.+)$/.exec(set)!;
    expect(sig).toBe(signature(sid!, purposeKey(TEST_SECRET, 'session')));
    expect(sig).not.toBe(signature(sid!, TEST_SECRET));

    await ctx.db('sessions').del();
    await signedInAgent(ctx, ada);
    const [{ sid: signedIn }] = await ctx.db('sessions').select('sid');
    const preferences = (key: string) => request(ctx.http).get('/preferences').set('Cookie', cookie(signedIn, key));
    await preferences(purposeKey(TEST_SECRET, 'session')).expect(200);
    // A session from before key separation (signed with the master key itself) ends once, at upgrade.
    await preferences(TEST_SECRET).expect(303).expect('location', '/manage');
    for (const purpose of ['links', 'suppression', 'link-confirm', 'recovery-codes'] as const)
      await preferences(purposeKey(TEST_SECRET, purpose)).expect(303).expect('location', '/manage');
  });
});
