import { generate } from 'otplib';
import request from 'supertest';
import { insertStaffUser, type StaffRole } from '../../src/admin/staff.repository.js';
import { hashPassword } from '../../src/auth/passwords.js';
import type { TestContext } from './app.js';
import { csrfFrom } from './session.js';

export type Agent = ReturnType<typeof request.agent>;
export const STAFF_PASSWORD = 'correct horse battery staple';
/** The TOTP secret given to admins made here (admins must have two-factor on). */
export const STAFF_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/** Creates a staff user; admins get TOTP enrolled, as they must have it. Returns the id. */
export async function createStaff(ctx: TestContext, email: string, role: StaffRole, name = `Staff ${role}`): Promise<string> {
  const id = await insertStaffUser(ctx.db, { email, name, role, passwordHash: await hashPassword(STAFF_PASSWORD) });
  if (role === 'admin')
    await ctx.db('staff_users').where({ id }).update({ totp_secret: STAFF_TOTP_SECRET, totp_enabled_at: ctx.db.fn.now() });
  return id;
}

/** A supertest agent signed in through the real staff pages (password, then TOTP when enrolled). */
export async function staffAgent(ctx: TestContext, email: string): Promise<Agent> {
  const agent = request.agent(ctx.app);
  const _csrf = await csrfFrom(agent, '/admin/login');
  const res = await agent.post('/admin/login').type('form').send({ _csrf, email, password: STAFF_PASSWORD });
  if (res.headers.location === '/admin/login/totp') {
    const row = (await ctx.db('staff_users').where({ email }).first('totp_secret')) as { totp_secret: string };
    const token = await csrfFrom(agent, '/admin/login/totp');
    const done = await agent
      .post('/admin/login/totp')
      .type('form')
      .send({ _csrf: token, code: await generate({ secret: row.totp_secret }) });
    if (done.headers.location !== '/admin') throw new Error(`TOTP sign-in failed for ${email}: ${done.status}`);
  } else if (res.headers.location !== '/admin') throw new Error(`staff sign-in failed for ${email}: ${res.status}`);
  return agent;
}

/** Creates a staff user of the role and signs them in. */
export async function signedInStaff(ctx: TestContext, email: string, role: StaffRole): Promise<{ id: string; agent: Agent }> {
  const id = await createStaff(ctx, email, role);
  return { id, agent: await staffAgent(ctx, email) };
}
