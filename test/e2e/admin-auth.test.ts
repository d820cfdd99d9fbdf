import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import request from 'supertest';
import { ADMIN_ROUTES } from '../../src/admin/admin.routes.js';
import { insertStaffUser, type StaffRole } from '../../src/auth/staff.repository.js';
import { encryptTotpSecret } from '../../src/auth/totp.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember } from '../helpers/fixtures.js';
import { csrfFrom, signedInAgent } from '../helpers/session.js';
import { freshTotpCode } from '../helpers/staff.js';
import { nodeArgs } from '../helpers/processes.js';

type Agent = ReturnType<typeof request.agent>;
const PASSWORD = 'correct horse battery staple';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await startTestContext();
});
afterAll(() => ctx.close());

async function createStaff(email: string, role: StaffRole, withTotp = true): Promise<string> {
  const id = await insertStaffUser(ctx.db, { email, name: `Staff ${role}`, role, passwordHash: await hashPassword(PASSWORD) });
  if (withTotp)
    await ctx
      .db('staff_users')
      .where({ id })
      .update({ totp_secret: encryptTotpSecret(SECRET, ctx.config.secretKeys, id), totp_enabled_at: ctx.db.fn.now() });
  return id;
}

async function postLogin(agent: Agent, email: string, password = PASSWORD) {
  const _csrf = await csrfFrom(agent, '/admin/login');
  return agent.post('/admin/login').type('form').send({ _csrf, email, password });
}

/** Signs in through the real pages, with the TOTP step when the account has it. */
async function staffAgent(email: string, secret = SECRET): Promise<Agent> {
  const agent = request.agent(ctx.http);
  const res = await postLogin(agent, email);
  expect(res.status).toBe(303);
  if (res.headers.location === '/admin/login/totp') {
    const _csrf = await csrfFrom(agent, '/admin/login/totp');
    const { id } = (await ctx.db('staff_users').where({ email }).first('id')) as { id: string };
    const done = await agent
      .post('/admin/login/totp')
      .type('form')
      .send({ _csrf, code: await freshTotpCode(ctx, id, secret) });
    expect(done.headers.location).toBe('/admin');
  }
  return agent;
}

function sidOf(res: request.Response): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return /assent\.sid=([^;]+)/.exec(cookies.join(';'))?.[1];
}

function runCli(args: string[], password?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: ctx.database.url, LOG_LEVEL: 'warn' };
  if (password !== undefined) env.STAFF_PASSWORD = password;
  return new Promise((resolve) => {
    execFile(process.execPath, nodeArgs('src/cli/staff.ts', 'create', ...args), { env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function auditActions(): Promise<{ action: string; staff_user_id: string | null }[]> {
  return ctx.db('audit_log').select('action', 'staff_user_id').orderBy('id');
}

describe('C11: staff:create CLI', () => {
  it('C11: creates a staff user with an argon2id hash, the password coming from STAFF_PASSWORD', async () => {
    const ok = await runCli(['--email', 'cli-admin@example.org', '--name', 'Cli Admin', '--role', 'admin'], PASSWORD);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const row = await ctx.db('staff_users').where({ email: 'cli-admin@example.org' }).first();
    expect(row.role).toBe('admin');
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  }, 30000);

  it('C11: refuses a short password, a bad role and a password given as an argument, with exit 1', async () => {
    const short = await runCli(['--email', 'short@example.org', '--name', 'S', '--role', 'admin'], 'short');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 12 characters');
    const role = await runCli(['--email', 'role@example.org', '--name', 'R', '--role', 'root'], PASSWORD);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('admin, support, auditor');
    const arg = await runCli(['--email', 'arg@example.org', '--name', 'A', '--role', 'support', '--password', PASSWORD], PASSWORD);
    expect(arg.code).toBe(1);
    expect(arg.stderr).toContain('never an argument');
    expect(await ctx.db('staff_users').whereIn('email', ['short@example.org', 'role@example.org', 'arg@example.org'])).toEqual([]);
  }, 30000);
});

describe('C11: staff sign-in', () => {
  it('C11: a wrong password answers like an unknown address, and both are audited as staff.login_failed', async () => {
    const id = await createStaff('wrong@example.org', 'support');
    const wrong = await postLogin(request.agent(ctx.http), 'wrong@example.org', 'not the password!');
    const unknown = await postLogin(request.agent(ctx.http), 'nobody@example.org', 'not the password!');
    expect(wrong.status).toBe(422);
    expect(unknown.status).toBe(422);
    const message = (t: string) => /That e-mail address and password do not match\./.test(t);
    expect(message(wrong.text) && message(unknown.text)).toBe(true);
    const strip = (t: string) => t.replace(/value="[^"]*"/g, '');
    expect(strip(wrong.text)).toBe(strip(unknown.text));
    const failed = (await auditActions()).filter((a) => a.action === 'staff.login_failed');
    expect(failed.map((a) => a.staff_user_id)).toEqual(expect.arrayContaining([id, null]));
  });

  it('C11: an admin without TOTP must enrol first, then sign-in needs the code; the session id changes on login', async () => {
    const id = await createStaff('enrol@example.org', 'admin', false);
    const agent = request.agent(ctx.http);
    const before = sidOf(await agent.get('/admin/login'));
    const res = await postLogin(agent, 'enrol@example.org');
    expect(res.headers.location).toBe('/admin');
    const after = sidOf(res);
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect((await agent.get('/admin')).headers.location).toBe('/admin/totp/setup');
    expect((await agent.get('/admin/password')).headers.location).toBe('/admin/totp/setup');

    const setup = await agent.get('/admin/totp/setup').expect(200);
    expect(setup.text).toContain('src="data:image/svg+xml;base64,');
    const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(setup.text)?.[1] ?? '';
    // The secret awaiting its first code is not kept in clear in the session store either.
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(JSON.stringify(await ctx.db('sessions').select('sess'))).not.toContain(secret);
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(setup.text)?.[1];
    await agent.post('/admin/totp/setup').type('form').send({ _csrf, code: '000000' }).expect(422);
    expect(await ctx.db('staff_users').where({ id }).first()).toMatchObject({ totp_enabled_at: null });
    const ok = await agent
      .post('/admin/totp/setup')
      .type('form')
      .send({ _csrf, code: await generate({ secret }) })
      .expect(200);
    expect(ok.text).toContain('Your recovery codes');
    expect((await agent.get('/admin').expect(200)).text).toContain('Audit log');
    expect((await auditActions()).some((a) => a.action === 'staff.totp_enabled' && a.staff_user_id === id)).toBe(true);

    // From now on the password alone is not a sign-in.
    const next = request.agent(ctx.http);
    expect((await postLogin(next, 'enrol@example.org')).headers.location).toBe('/admin/login/totp');
    expect((await next.get('/admin')).headers.location).toBe('/admin/login');
    // The enrolment code was used once: the sign-in needs a code of a later time step.
    const code = await freshTotpCode(ctx, id, secret);
    const bad = String((Number(code) + 500000) % 1000000).padStart(6, '0');
    const totpCsrf = await csrfFrom(next, '/admin/login/totp');
    const refused = await next.post('/admin/login/totp').type('form').send({ _csrf: totpCsrf, code: bad }).expect(422);
    expect(refused.text).toContain('That code is not right');
    expect((await next.get('/admin')).headers.location).toBe('/admin/login');
    const done = await next.post('/admin/login/totp').type('form').send({ _csrf: totpCsrf, code });
    expect(done.headers.location).toBe('/admin');
    await next.get('/admin').expect(200);
    expect((await auditActions()).filter((a) => a.action === 'staff.login' && a.staff_user_id === id)).toHaveLength(2);
  });

  it('C11: a staff session ends after 30 minutes without a request', async () => {
    const id = await createStaff('idle@example.org', 'support');
    const agent = await staffAgent('idle@example.org');
    await agent.get('/admin').expect(200);
    await ctx.db.raw(
      `UPDATE sessions SET sess = jsonb_set(sess::jsonb, '{lastSeen}', to_jsonb(?::bigint))::json
       WHERE sess::jsonb #>> '{passport,user,id}' = ?`,
      [Date.now() - 31 * 60 * 1000, id],
    );
    const expired = await agent.get('/admin').expect(303);
    expect(expired.headers.location).toBe('/admin/login?expired=1');
    expect((await agent.get('/admin/login?expired=1')).text).toContain('signed out after 30 minutes');
    expect((await agent.get('/admin')).headers.location).toBe('/admin/login');
  });

  it('C11: staff change their password with the current one; it is audited', async () => {
    const id = await createStaff('pw@example.org', 'auditor');
    const agent = await staffAgent('pw@example.org');
    const _csrf = await csrfFrom(agent, '/admin/password');
    const newPw = 'a brand new long password';
    await agent.post('/admin/password').type('form').send({ _csrf, current: 'wrong', password: newPw, confirm: newPw }).expect(422);
    await agent.post('/admin/password').type('form').send({ _csrf, current: PASSWORD, password: 'short', confirm: 'short' }).expect(422);
    const ok = await agent.post('/admin/password').type('form').send({ _csrf, current: PASSWORD, password: newPw, confirm: newPw });
    expect(ok.headers.location).toBe('/admin/password?done');
    expect((await auditActions()).some((a) => a.action === 'staff.password_changed' && a.staff_user_id === id)).toBe(true);
    expect((await postLogin(request.agent(ctx.http), 'pw@example.org', newPw)).status).toBe(303);
  });

  it('C11: the audit log lists entries newest first and filters by action', async () => {
    const agent = await staffAgent('cli-admin@example.org');
    const setup = await agent.get('/admin/totp/setup');
    const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(setup.text)?.[1] ?? '';
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(setup.text)?.[1];
    await agent
      .post('/admin/totp/setup')
      .type('form')
      .send({ _csrf, code: await generate({ secret }) })
      .expect(200);
    const page = await agent.get('/admin/audit?action=staff.password_changed').expect(200);
    expect(page.text).toContain('<strong>Staff password changed.</strong> Changed their own password.');
    expect(page.text).not.toContain('data-action="staff.login"');
    const all = await agent.get('/admin/audit').expect(200);
    expect(all.text.indexOf('data-action="staff.totp_enabled"')).toBeGreaterThan(-1);
    expect(all.text.indexOf('data-action="staff.totp_enabled"')).toBeLessThan(all.text.indexOf('data-action="staff.password_changed"'));
  });
});

describe('C11: admin routes by role', () => {
  // Four roles walk every route (some 70 each), on a machine that may be busy: a longer timeout.
  it('C11: every admin route is allowed only to its roles; no session goes to sign-in', async () => {
    await createStaff('walk-admin@example.org', 'admin');
    await createStaff('walk-support@example.org', 'support');
    await createStaff('walk-auditor@example.org', 'auditor');
    await createStaff('walk-editor@example.org', 'editor');
    const agents: Record<StaffRole, Agent> = {
      admin: await staffAgent('walk-admin@example.org', SECRET),
      support: await staffAgent('walk-support@example.org'),
      auditor: await staffAgent('walk-auditor@example.org'),
      editor: await staffAgent('walk-editor@example.org'),
    };
    // Sign-out ends the session, so it goes last.
    const routes = [...ADMIN_ROUTES].sort((a, b) => Number(a.path === '/admin/logout') - Number(b.path === '/admin/logout'));
    for (const role of ['admin', 'support', 'auditor', 'editor'] as const) {
      const agent = agents[role];
      const _csrf = await csrfFrom(agent, '/admin/password');
      for (const route of routes) {
        const res = route.method === 'GET' ? await agent.get(route.path) : await agent.post(route.path).type('form').send({ _csrf });
        const where = `${role} ${route.method} ${route.path}`;
        if (route.roles.includes(role)) {
          expect([where, res.status < 500]).toEqual([where, true]);
          expect([where, res.status]).not.toEqual([where, 403]);
          expect([where, res.headers.location]).not.toEqual([where, '/admin/login']);
        } else expect([where, res.status]).toEqual([where, 403]);
      }
    }
    const anonymous = request.agent(ctx.http);
    const _csrf = await csrfFrom(anonymous, '/admin/login');
    for (const route of ADMIN_ROUTES) {
      const res = route.method === 'GET' ? await anonymous.get(route.path) : await anonymous.post(route.path).type('form').send({ _csrf });
      expect([route.path, res.status, res.headers.location]).toEqual([route.path, 303, '/admin/login']);
    }
  }, 90000);

  it('C11: a POST without the CSRF token is refused', async () => {
    await request(ctx.http).post('/admin/login').type('form').send({ email: 'walk-support@example.org', password: PASSWORD }).expect(403);
    const agent = await staffAgent('walk-support@example.org');
    await agent
      .post('/admin/password')
      .type('form')
      .send({ current: PASSWORD, password: 'x'.repeat(12), confirm: 'x'.repeat(12) })
      .expect(403);
    await agent.post('/admin/logout').expect(403);
  });

  it('C11: a member session cannot use admin pages, and a staff session cannot use member pages', async () => {
    const memberId = await insertMember(ctx.db, 'member@example.org', 'Mary Member');
    const member = await signedInAgent(ctx, memberId);
    await member.get('/admin').expect(403);
    await member.get('/admin/audit').expect(403);
    const staff = await staffAgent('walk-auditor@example.org');
    expect((await staff.get('/account')).headers.location).toBe('/manage');
    expect((await staff.get('/preferences')).status).not.toBe(200);
  });

  it('C11: the audit log refuses UPDATE, DELETE and TRUNCATE', async () => {
    await expect(ctx.db('audit_log').update({ action: 'x' })).rejects.toThrow(/append-only/);
    await expect(ctx.db('audit_log').delete()).rejects.toThrow(/append-only/);
    await expect(ctx.db.raw('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
  });

  it('C11: repeated failed sign-ins for one address from one network are refused with 429', async () => {
    let last = 0;
    for (let i = 0; i < 6; i++) last = (await postLogin(request.agent(ctx.http), 'limited@example.org', 'wrong password!')).status;
    expect(last).toBe(429);
  });
});
