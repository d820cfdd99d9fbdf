import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { LINK_CONFIRM_FIELD, mintConfirmField } from '../../src/shared/http/link-confirm.js';
import { purposeKey } from '../../src/shared/keys.js';
import { TEST_SECRET, type TestContext } from './app.js';

/** The one cookie a link page may set (C9): an opaque random nonce, CSRF material only. */
export const CSRF_NONCE_COOKIE = /^assent\.csrf=[A-Za-z0-9_-]{22}; Max-Age=\d+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/;

const LINK_CONFIRM_KEY = purposeKey(TEST_SECRET, 'link-confirm');

/**
 * POSTs the button of a page opened from an e-mail link (sign-in, join confirmation, my data,
 * removal, e-mail verification) as a browser that refuses cookies would from our own page: with
 * the page's field and the browser's same-origin marker. Tests of the link itself use this; the
 * login-CSRF tests post without it.
 */
export function linkPost(client: { post(path: string): request.Test }, path: string): request.Test {
  return client
    .post(path)
    .set('Sec-Fetch-Site', 'same-origin')
    .type('form')
    .send({ [LINK_CONFIRM_FIELD]: mintConfirmField(LINK_CONFIRM_KEY, path, null) });
}

/** A supertest agent signed in as the member, through the real single-use link route. */
export async function signedInAgent(ctx: TestContext, memberId: string): Promise<ReturnType<typeof request.agent>> {
  const agent = request.agent(ctx.http);
  const token = await issueMemberToken(ctx.db, memberId, 'signin', 15);
  const res = await linkPost(agent, `/signin/${token}`);
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  return agent;
}

/** The CSRF token of a session page's form. */
export async function csrfFrom(agent: ReturnType<typeof request.agent>, path: string): Promise<string> {
  const res = await agent.get(path);
  const token = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1];
  if (!token) throw new Error(`no CSRF token on ${path} (status ${res.status})`);
  return token;
}

/** The first link in a caught e-mail's text body that starts with the given path. */
export function linkIn(text: string, path: string): string {
  const url = new RegExp(`https?://[^\\s]+${path.replace(/\//g, '\\/')}[^\\s]*`).exec(text)?.[0];
  if (!url) throw new Error(`no ${path} link in:\n${text}`);
  return new URL(url).pathname;
}

/** Opens an e-mail link's page and presses its button, as a browser that keeps cookies does. */
export async function pressLinkButton(agent: ReturnType<typeof request.agent>, path: string): Promise<request.Response> {
  const page = await agent.get(path);
  const field = new RegExp(`name="${LINK_CONFIRM_FIELD}" value="([^"]+)"`).exec(page.text)?.[1];
  if (!field) throw new Error(`no confirmation button on ${path} (status ${page.status})`);
  return agent
    .post(path)
    .type('form')
    .send({ [LINK_CONFIRM_FIELD]: field });
}
