import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import request from 'supertest';
import { ADMIN_ROUTES } from '../../src/admin/route-table.js';
import { STAFF_ROLES } from '../../src/auth/staff.repository.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { csrfFrom } from '../helpers/session.js';
import { createStaff, signedInStaff, STAFF_PASSWORD, staffAgent, type Agent } from '../helpers/staff.js';
import { nodeArgs } from '../helpers/processes.js';

/**
 * Two-factor for every staff role (issue 7, point 4): admin, support, auditor and editor accounts
 * all enrol; ten single-use recovery codes are shown once and stored hashed; an admin can reset
 * another account's two-factor (audited); the sign-in page says what to do when a device is lost.
 */
let ctx: TestContext;
let admin: { id: string; agent: Agent };

beforeAll(async () => {
  ctx = await startTestContext();
  admin = await signedInStaff(ctx, 'chief@example.org', 'admin');
});
afterAll(() => ctx.close());

async function passwordOnly(email: string, agent: Agent = request.agent(ctx.http)) {
  const _csrf = await csrfFrom(agent, '/admin/login');
  const res = await agent.post('/admin/login').type('form').send({ _csrf, email, password: STAFF_PASSWORD });
  return { agent, res };
}

/** Enrols through the real pages; returns the secret and the recovery codes page. */
async function enrol(agent: Agent): Promise<{ secret: string; page: request.Response }> {
  const setup = await agent.get('/admin/totp/setup').expect(200);
  const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(setup.text)?.[1] ?? '';
  const _csrf = /name="_csrf" value="([^"]+)"/.exec(setup.text)?.[1];
  const page = await agent
    .post('/admin/totp/setup')
    .type('form')
    .send({ _csrf, code: await generate({ secret }) });
  return { secret, page };
}

const codesIn = (html: string) => [...html.matchAll(/<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/code>/g)].map((m) => m[1]!);
const audit = (action: string) => ctx.db('audit_log').where({ action }).select('staff_user_id', 'details');

describe('C11: every staff role signs in with two factors', () => {
  it('C11: every staff role (admin, support, auditor, editor) must set up two-factor sign-in before any page it may open', async () => {
    expect([...STAFF_ROLES].sort()).toEqual(['admin', 'auditor', 'editor', 'support']);
    for (const role of STAFF_ROLES) {
      await createStaff(ctx, `new.${role}@example.org`, role, `New ${role}`, { twoFactor: false });
      const { agent, res } = await passwordOnly(`new.${role}@example.org`);
      expect(res.headers.location).toBe('/admin');
      // Every page of the role's own, but the enrolment page itself.
      const pages = ADMIN_ROUTES.filter(
        (r) => r.method === 'GET' && r.roles.includes(role) && !r.path.includes(':') && r.path !== '/admin/totp/setup',
      ).map((r) => r.path);
      expect(pages.length).toBeGreaterThan(2);
      for (const page of pages) expect([role, page, (await agent.get(page)).headers.location]).toEqual([role, page, '/admin/totp/setup']);
      const setup = await agent.get('/admin/totp/setup').expect(200);
      expect(setup.text).toContain('Every staff account uses two-factor sign-in');
    }
  });

  it('C11: enrolment shows ten recovery codes once, never cached; only keyed hashes are stored', async () => {
    const id = await createStaff(ctx, 'codes@example.org', 'auditor', 'Codes', { twoFactor: false });
    const { agent } = await passwordOnly('codes@example.org');
    const { page } = await enrol(agent);
    expect(page.status).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const codes = codesIn(page.text);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const rows = (await ctx.db('staff_recovery_codes').where({ staff_user_id: id }).select('code_hash')) as { code_hash: string }[];
    expect(rows).toHaveLength(10);
    const stored = JSON.stringify(rows);
    for (const code of codes) {
      expect(stored).not.toContain(code);
      expect(stored).not.toContain(code.replace(/-/g, ''));
    }
    // Shown once: the two-factor page afterwards does not show them.
    expect(codesIn((await agent.get('/admin/totp/setup').expect(200)).text)).toEqual([]);
    await agent.get('/admin').expect(200);
  });

  it('C11: a recovery code signs in once (any case, with or without dashes), is audited and mailed; a used or wrong one is refused', async () => {
    const id = await createStaff(ctx, 'lost.phone@example.org', 'support', 'Lost Phone', { twoFactor: false });
    const codes = codesIn((await enrol((await passwordOnly('lost.phone@example.org')).agent)).page.text);
    const useCode = async (code: string) => {
      const { agent, res } = await passwordOnly('lost.phone@example.org');
      expect(res.headers.location).toBe('/admin/login/totp');
      const page = await agent.get('/admin/login/totp').expect(200);
      expect(page.text).toContain('Use a recovery code');
      const _csrf = await csrfFrom(agent, '/admin/login/totp');
      return { agent, res: await agent.post('/admin/login/recovery').type('form').send({ _csrf, recovery_code: code }) };
    };
    const first = await useCode(codes[0]!.toLowerCase().replace(/-/g, ' '));
    expect([first.res.status, first.res.headers.location]).toEqual([303, '/admin?recovered=1']);
    expect((await first.agent.get('/admin?recovered=1').expect(200)).text).toContain('You signed in with a recovery code');
    expect(await audit('staff.recovery_code_used')).toEqual([{ staff_user_id: id, details: { left: 9 } }]);
    const mail = await ctx
      .db('email_messages')
      .where({ recipient: 'lost.phone@example.org', kind: 'staff_recovery_code_used' })
      .first('text_body');
    expect(mail.text_body).toContain('9 unused codes are left');

    const again = await useCode(codes[0]!);
    expect(again.res.status).toBe(422);
    expect(again.res.text).toContain('That recovery code is not right, or was used already.');
    expect((await again.agent.get('/admin')).headers.location).toBe('/admin/login');
    expect((await useCode('ABCD-EFGH-JKMN-PQRS')).res.status).toBe(422);
    expect((await useCode(codes[1]!)).res.status).toBe(303);
  });

  it('C11: the staff sign-in page says what to do when the authenticator device is lost', async () => {
    const page = await request(ctx.http).get('/admin/login').expect(200);
    expect(page.text).toContain('Lost your authenticator device?');
    expect(page.text).toContain('recovery code');
    expect(page.text).toContain('ask an administrator to reset your two-factor sign-in');
  });
});

describe('C11: an admin resets another staff user’s two-factor', () => {
  it('C11: the reset is audited, ends the account’s sessions, deletes its codes, mails its owner; the owner must enrol again', async () => {
    const id = await createStaff(ctx, 'reset.me@example.org', 'support', 'Reset Me', { twoFactor: false });
    const { agent: first } = await passwordOnly('reset.me@example.org');
    await enrol(first);
    const session = await staffAgent(ctx, 'reset.me@example.org');
    await session.get('/admin').expect(200);

    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    const list = await admin.agent.get('/admin/staff').expect(200);
    expect(list.text).toContain(`/admin/staff/${id}/reset-2fa`);
    const res = await admin.agent.post(`/admin/staff/${id}/reset-2fa`).type('form').send({ _csrf });
    expect([res.status, res.headers.location]).toEqual([303, '/admin/staff?reset']);

    expect((await session.get('/admin')).headers.location).toBe('/admin/login');
    const row = await ctx.db('staff_users').where({ id }).first('totp_secret', 'totp_enabled_at', 'totp_last_step');
    expect(row).toEqual({ totp_secret: null, totp_enabled_at: null, totp_last_step: null });
    expect(await ctx.db('staff_recovery_codes').where({ staff_user_id: id })).toEqual([]);
    expect(await audit('staff.totp_reset')).toEqual([{ staff_user_id: admin.id, details: { staffId: id } }]);
    expect(await ctx.db('email_messages').where({ recipient: 'reset.me@example.org', kind: 'staff_totp_reset' }).first('id')).toBeDefined();
    const { agent: again, res: login } = await passwordOnly('reset.me@example.org');
    expect(login.headers.location).toBe('/admin');
    expect((await again.get('/admin/members')).headers.location).toBe('/admin/totp/setup');
  });

  it('C11: an admin cannot reset their own two-factor from the list, and other roles cannot reset at all', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    expect((await admin.agent.post(`/admin/staff/${admin.id}/reset-2fa`).type('form').send({ _csrf })).status).toBe(409);
    const support = await signedInStaff(ctx, 'helper@example.org', 'support');
    const token = await csrfFrom(support.agent, '/admin/password');
    expect((await support.agent.post(`/admin/staff/${admin.id}/reset-2fa`).type('form').send({ _csrf: token })).status).toBe(403);
    expect((await ctx.db('staff_users').where({ id: admin.id }).first('totp_enabled_at')).totp_enabled_at).not.toBeNull();
  });

  it('C11: a staff password change ends every other session of the account', async () => {
    await createStaff(ctx, 'two.places@example.org', 'auditor');
    const elsewhere = await staffAgent(ctx, 'two.places@example.org');
    const here = await staffAgent(ctx, 'two.places@example.org');
    const _csrf = await csrfFrom(here, '/admin/password');
    const next = 'an entirely new staff password';
    const res = await here.post('/admin/password').type('form').send({ _csrf, current: STAFF_PASSWORD, password: next, confirm: next });
    expect(res.headers.location).toBe('/admin/password?done');
    await here.get('/admin').expect(200);
    expect((await elsewhere.get('/admin')).headers.location).toBe('/admin/login');
  });

  it('C11: the only admin who lost device and codes is reset from the server shell (npm run staff:reset-2fa), audited as such', async () => {
    const id = await createStaff(ctx, 'lone.admin@example.org', 'admin');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: ctx.database.url, LOG_LEVEL: 'warn' };
    const run = (email: string) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, nodeArgs('src/cli/staff.ts', 'reset-2fa', '--email', email), { env }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    const ok = await run('lone.admin@example.org');
    expect(ok).toEqual({ code: 0, out: expect.stringContaining('was reset') });
    expect((await ctx.db('staff_users').where({ id }).first('totp_enabled_at')).totp_enabled_at).toBeNull();
    expect((await audit('staff.totp_reset')).filter((a) => (a.details as { staffId?: string }).staffId === id)).toEqual([
      { staff_user_id: null, details: { staffId: id, via: 'cli' } },
    ]);
    expect((await run('nobody.here@example.org')).code).toBe(1);
  }, 30000);
});
