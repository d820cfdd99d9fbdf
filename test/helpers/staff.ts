import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import request from 'supertest';
import { insertStaffUser, type StaffRole } from '../../src/auth/staff.repository.js';
import { decryptTotpSecret, encryptTotpSecret } from '../../src/auth/totp.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { TestContext } from './app.js';
import { csrfFrom } from './session.js';

export type Agent = ReturnType<typeof request.agent>;
export const STAFF_PASSWORD = 'correct horse battery staple';
/** The TOTP secret given to staff made here (every role must have two-factor on). Stored encrypted. */
export const STAFF_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const TOTP_PERIOD_S = 30;

/**
 * STAFF_PASSWORD's argon2id hash, made once per test process and given to every staff user made
 * here: a real hash, checked by the real sign-in, without a 60 ms hash per user made.
 */
let staffPasswordHash: Promise<string> | undefined;

/** Creates a staff user with TOTP enrolled, as every staff user must have it (C11). Returns the id. */
export async function createStaff(
  ctx: TestContext,
  email: string,
  role: StaffRole,
  name = `Staff ${role}`,
  opts: { twoFactor?: boolean } = {},
): Promise<string> {
  const id = await insertStaffUser(ctx.db, { email, name, role, passwordHash: await (staffPasswordHash ??= hashPassword(STAFF_PASSWORD)) });
  if (opts.twoFactor !== false)
    await ctx
      .db('staff_users')
      .where({ id })
      .update({ totp_secret: encryptTotpSecret(STAFF_TOTP_SECRET, ctx.config.secretKeys, id), totp_enabled_at: ctx.db.fn.now() });
  return id;
}

/**
 * A TOTP code for a time step the server has not accepted yet. A code is good once (C11), and the
 * server allows one step of clock drift either side, so up to three sign-ins of one account fit in
 * a 30-second window (previous, current and next step's codes); a further one waits for the clock.
 */
export async function freshTotpCode(ctx: TestContext, staffId: string, secret = STAFF_TOTP_SECRET): Promise<string> {
  for (;;) {
    const row = (await ctx.db('staff_users').where({ id: staffId }).first('totp_last_step')) as { totp_last_step: number | null };
    const last = row.totp_last_step === null ? -1 : Number(row.totp_last_step);
    const now = Date.now() / 1000;
    const current = Math.floor(now / TOTP_PERIOD_S);
    // The lowest usable step first, so three sign-ins fit in one window; the previous step only
    // well before the boundary, where it could fall out of the window before the server checks it.
    const safeToLookBack = (current + 1) * TOTP_PERIOD_S - now > 5;
    const step = [...(safeToLookBack ? [current - 1] : []), current, current + 1].find((s) => s > last);
    if (step !== undefined) return generate({ secret, epoch: step * TOTP_PERIOD_S + 1 });
    await new Promise((resolve) => setTimeout(resolve, ((current + 1) * TOTP_PERIOD_S - now) * 1000 + 50));
  }
}

/** A supertest agent signed in through the real staff pages (password, then TOTP when enrolled). */
export async function staffAgent(ctx: TestContext, email: string): Promise<Agent> {
  const agent = request.agent(ctx.http);
  const _csrf = await csrfFrom(agent, '/admin/login');
  const res = await agent.post('/admin/login').type('form').send({ _csrf, email, password: STAFF_PASSWORD });
  if (res.headers.location === '/admin/login/totp') {
    const row = (await ctx.db('staff_users').where({ email }).first('id', 'totp_secret')) as { id: string; totp_secret: string };
    const secret = decryptTotpSecret(row.totp_secret, ctx.config.secretKeys, row.id);
    if (!secret) throw new Error(`the TOTP secret of ${email} does not decrypt`);
    const token = await csrfFrom(agent, '/admin/login/totp');
    const done = await agent
      .post('/admin/login/totp')
      .type('form')
      .send({ _csrf: token, code: await freshTotpCode(ctx, row.id, secret) });
    if (done.headers.location !== '/admin') throw new Error(`TOTP sign-in failed for ${email}: ${done.status}`);
  } else if (res.headers.location !== '/admin') throw new Error(`staff sign-in failed for ${email}: ${res.status}`);
  return agent;
}

/** Creates a staff user of the role and signs them in. */
export async function signedInStaff(ctx: TestContext, email: string, role: StaffRole): Promise<{ id: string; agent: Agent }> {
  const id = await createStaff(ctx, email, role);
  return { id, agent: await staffAgent(ctx, email) };
}

/** Signs a staff user in through the real pages in a browser: password, then a fresh TOTP code. */
export async function signInStaffInBrowser(ctx: TestContext, page: Page, siteUrl: string, email: string): Promise<void> {
  await page.goto(`${siteUrl}/admin/login`);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(STAFF_PASSWORD);
  await Promise.all([page.waitForURL(`${siteUrl}/admin/login/totp`), page.getByRole('button', { name: 'Sign in' }).click()]);
  const { id } = (await ctx.db('staff_users').where({ email }).first('id')) as { id: string };
  await page.getByLabel('Code', { exact: true }).fill(await freshTotpCode(ctx, id));
  await Promise.all([page.waitForURL(`${siteUrl}/admin`), page.getByRole('button', { name: 'Continue' }).click()]);
}
