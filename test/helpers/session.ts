import request from 'supertest';
import { issueMemberToken } from '../../src/members/member-tokens.js';
import type { TestContext } from './app.js';

/** A supertest agent signed in as the member, through the real single-use link route. */
export async function signedInAgent(ctx: TestContext, memberId: string): Promise<ReturnType<typeof request.agent>> {
  const agent = request.agent(ctx.app);
  const token = await issueMemberToken(ctx.db, memberId, 'signin', 15);
  const res = await agent.post(`/signin/${token}`);
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
