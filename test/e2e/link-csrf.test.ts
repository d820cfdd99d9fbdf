import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { LINK_CONFIRM_FIELD } from '../../src/shared/http/link-confirm.js';
import { hashToken } from '../../src/shared/secrets.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { launchBrowser, serve } from '../helpers/browser.js';
import { insertMember, insertPolicy } from '../helpers/fixtures.js';
import { linkPost, pressLinkButton } from '../helpers/session.js';

/**
 * Login CSRF (issue 7, point 1): an attacker asks for a sign-in link to their own account and makes
 * a victim's browser post it, so the victim works in the attacker's account. Every button on a
 * page opened from an e-mail link that signs in or acts must come from a page we showed this very
 * browser; the cookieless flows (C9) keep working from our own pages.
 */
let ctx: TestContext;
let attacker: string;
let victim: string;

beforeAll(async () => {
  ctx = await startTestContext();
  await insertPolicy(ctx.db, { version: '1.0' });
  attacker = await insertMember(ctx.db, 'mallory@example.org', 'Mallory');
  victim = await insertMember(ctx.db, 'alice@example.org', 'Alice');
});
afterAll(() => ctx.close());

const fieldOf = (html: string) => new RegExp(`name="${LINK_CONFIRM_FIELD}" value="([^"]+)"`).exec(html)?.[1] ?? '';
const used = async (token: string) =>
  (
    (await ctx
      .db('member_tokens')
      .where({ token_hash: hashToken(token) })
      .first('used_at')) as { used_at: Date | null }
  ).used_at !== null;

describe('C11: link buttons that sign in or act are bound to the browser that opened the page', () => {
  it('C11: a sign-in link posted without the page field is refused, and the link still works afterwards', async () => {
    const token = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    const bare = await request(ctx.http).post(`/signin/${token}`).set('Sec-Fetch-Site', 'same-origin');
    expect(bare.status).toBe(403);
    expect(bare.headers['set-cookie']).toBeUndefined();
    expect(await used(token)).toBe(false);
    const res = await pressLinkButton(request.agent(ctx.http), `/signin/${token}`);
    expect(res.status).toBe(303);
  });

  it("C11: the page field from the attacker's browser does not work in the victim's browser", async () => {
    const token = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    const path = `/signin/${token}`;
    const attackerBrowser = request.agent(ctx.http);
    const field = fieldOf((await attackerBrowser.get(path).expect(200)).text);
    expect(field).not.toBe('');

    // The victim's browser has its own nonce cookie (it opened one of our link pages before).
    const victimBrowser = request.agent(ctx.http);
    await victimBrowser.get(`/signin/${await issueMemberToken(ctx.db, victim, 'signin', 15)}`).expect(200);
    const withOwnCookie = await victimBrowser
      .post(path)
      .type('form')
      .send({ [LINK_CONFIRM_FIELD]: field });
    expect(withOwnCookie.status).toBe(403);
    expect(withOwnCookie.text).toContain('did not come from a page we showed this browser');
    // A browser without the cookie (a cross-site post never carries it) and no same-origin proof.
    const noCookie = await request(ctx.http)
      .post(path)
      .type('form')
      .send({ [LINK_CONFIRM_FIELD]: field });
    expect(noCookie.status).toBe(403);
    expect(await used(token)).toBe(false);
    expect((await victimBrowser.get('/account')).status).toBe(303);

    const own = await attackerBrowser
      .post(path)
      .type('form')
      .send({ [LINK_CONFIRM_FIELD]: field });
    expect(own.status).toBe(303);
  });

  it('C11: a post from another origin is refused even with a valid field', async () => {
    const token = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    const path = `/signin/${token}`;
    const browser = request.agent(ctx.http);
    const field = fieldOf((await browser.get(path)).text);
    const post = () => browser.post(path).type('form');
    expect(
      (
        await post()
          .set('Origin', 'https://evil.example')
          .send({ [LINK_CONFIRM_FIELD]: field })
      ).status,
    ).toBe(403);
    expect(
      (
        await post()
          .set('Sec-Fetch-Site', 'cross-site')
          .send({ [LINK_CONFIRM_FIELD]: field })
      ).status,
    ).toBe(403);
    expect(
      (
        await post()
          .set('Sec-Fetch-Site', 'same-site')
          .send({ [LINK_CONFIRM_FIELD]: field })
      ).status,
    ).toBe(403);
    expect(await used(token)).toBe(false);
    expect(
      (
        await post()
          .set('Origin', 'http://assent.test')
          .send({ [LINK_CONFIRM_FIELD]: field })
      ).status,
    ).toBe(303);
  });

  it('C11: a field made for one link does not work for another, and an expired one does not work at all', async () => {
    const first = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    const second = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    const browser = request.agent(ctx.http);
    const field = fieldOf((await browser.get(`/signin/${first}`)).text);
    expect(
      (
        await browser
          .post(`/signin/${second}`)
          .type('form')
          .send({ [LINK_CONFIRM_FIELD]: field })
      ).status,
    ).toBe(403);
    const [, ...rest] = field.split('.');
    const stale = [String(Math.floor(Date.now() / 1000) - 1), ...rest].join('.');
    expect(
      (
        await browser
          .post(`/signin/${first}`)
          .type('form')
          .send({ [LINK_CONFIRM_FIELD]: stale })
      ).status,
    ).toBe(403);
    expect(await used(second)).toBe(false);
  });

  it('C11 C6 C5: the join confirmation, e-mail verification, my-data and removal buttons are guarded the same way', async () => {
    const removalRequest = (await ctx.db('removal_requests').insert({ member_id: victim, status: 'unconfirmed' }).returning('id')) as {
      id: string;
    }[];
    const links = [
      ['email', `/l/email/${await issueMemberToken(ctx.db, victim, 'email_verify', 60, { email: 'alice.new@example.org' })}`],
      ['data', `/l/data/${await issueMemberToken(ctx.db, victim, 'data', 30, { use: 'page' })}`],
      ['removal', `/l/removal/${await issueMemberToken(ctx.db, victim, 'removal', 30, { requestId: removalRequest[0]!.id })}`],
    ] as const;
    for (const [label, path] of links) {
      const bare = await request(ctx.http).post(path);
      expect([label, bare.status]).toEqual([label, 403]);
      expect([label, await used(path.split('/').pop()!)]).toEqual([label, false]);
    }
    await request(ctx.http).post('/join').type('form').send({ name: 'Bob', email: 'bob@example.org', age_confirmed: 'yes' }).expect(200);
    const mail = (await ctx.db('email_messages').where({ recipient: 'bob@example.org', kind: 'signup_confirm' }).first('text_body')) as {
      text_body: string;
    };
    const confirm = new URL(/https?:\/\/\S+\/join\/confirm\/\S+/.exec(mail.text_body)![0]).pathname;
    expect((await request(ctx.http).post(confirm)).status).toBe(403);
    expect(await ctx.db('members').where({ email: 'bob@example.org' }).first('id')).toBeUndefined();
    expect((await linkPost(request(ctx.http), confirm)).status).toBe(200);
    expect(await ctx.db('members').where({ email: 'bob@example.org' }).first('id')).toBeDefined();
  });

  it('C9: the cookieless flows need no field and no cookie: manage link and one-click unsubscribe', async () => {
    const { Links } = await import('../../src/shared/links.js');
    const links = new Links('http://assent.test', ctx.config.secretKeys);
    const manage = new URL(links.manage(victim)).pathname;
    await request(ctx.http).post(manage).type('form').send({ action: 'unsubscribe_all' }).expect(303);
    const unsubscribe = new URL(links.unsubscribe(victim, 'all').url).pathname;
    await request(ctx.http).post(unsubscribe).type('form').send('List-Unsubscribe=One-Click').expect(200);
  });
});

describe('C11: login CSRF from another site, in a real browser', () => {
  it('C11: a page on another site that auto-posts the attacker’s sign-in link leaves the victim signed out, and the link unused', async () => {
    const site = await serve(ctx.app);
    const token = await issueMemberToken(ctx.db, attacker, 'signin', 15);
    // The attacker opens their own link page to get a field, then plants it in a form on their site.
    const field = fieldOf((await request(ctx.http).get(`/signin/${token}`)).text);
    const evil = express();
    evil.get('/', (_req, res) =>
      res
        .type('html')
        .send(
          `<form method="post" action="${site.url}/signin/${token}"><input name="${LINK_CONFIRM_FIELD}" value="${field}"></form>` +
            '<script>document.forms[0].submit()</script>',
        ),
    );
    const evilSite = await serve(evil);
    // 127.0.0.1 and localhost are different sites to the browser.
    const evilUrl = evilSite.url.replace('127.0.0.1', 'localhost');
    const browser = await launchBrowser({ cookies: true });
    try {
      const page = await browser.context.newPage();
      const landed = page.waitForResponse((r) => r.url().includes('/signin/') && r.request().method() === 'POST');
      await page.goto(evilUrl);
      expect((await landed).status()).toBe(403);
      expect(await used(token)).toBe(false);
      await page.goto(`${site.url}/account`);
      expect(new URL(page.url()).pathname).toBe('/manage');
    } finally {
      await browser.close();
      await evilSite.close();
      await site.close();
    }
  });
});
