import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import request from 'supertest';
import { decryptTotpSecret, encryptTotpSecret } from '../../src/auth/totp.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember } from '../helpers/fixtures.js';
import { csrfFrom } from '../helpers/session.js';
import { createStaff, freshTotpCode, signedInStaff, STAFF_PASSWORD, STAFF_TOTP_SECRET, staffAgent, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let admin: { id: string; agent: Agent };

beforeAll(async () => {
  ctx = await startTestContext();
  admin = await signedInStaff(ctx, 'boss@example.org', 'admin');
});
afterAll(() => ctx.close());

const auditOf = (action: string) =>
  ctx.db('audit_log').where({ action }).orderBy('id').select('staff_user_id', 'member_id', 'details') as Promise<
    { staff_user_id: string | null; member_id: string | null; details: Record<string, unknown> }[]
  >;

async function postLogin(agent: Agent, email: string, password = STAFF_PASSWORD) {
  const _csrf = await csrfFrom(agent, '/admin/login');
  return agent.post('/admin/login').type('form').send({ _csrf, email, password });
}

describe('C11: staff accounts', () => {
  it('C11: an admin lists staff and adds an account; it is audited without personal data and can sign in', async () => {
    const list = await admin.agent.get('/admin/staff').expect(200);
    expect(list.text).toContain('boss@example.org');
    expect(list.text).toMatch(/<label for="role">Role<\/label>/);
    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    const res = await admin.agent
      .post('/admin/staff')
      .type('form')
      .send({ _csrf, name: 'Sam Support', email: 'sam@example.org', role: 'support', password: 'a long initial password' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/staff?created');
    const row = await ctx.db('staff_users').where({ email: 'sam@example.org' }).first();
    expect(row).toMatchObject({ name: 'Sam Support', role: 'support', disabled_at: null, totp_secret: null });
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const [entry] = await auditOf('staff.created');
    expect(entry).toEqual({ staff_user_id: admin.id, member_id: null, details: { staffId: row.id, role: 'support' } });
    expect(JSON.stringify(entry?.details)).not.toMatch(/sam|Support/);

    const page = await admin.agent.get('/admin/staff').expect(200);
    expect(page.text).toContain('sam@example.org');
    const sam = request.agent(ctx.http);
    const _c = await csrfFrom(sam, '/admin/login');
    const login = await sam
      .post('/admin/login')
      .type('form')
      .send({ _csrf: _c, email: 'sam@example.org', password: 'a long initial password' });
    expect(login.headers.location).toBe('/admin');
    // Every role sets up two-factor sign-in before anything else (C11).
    expect((await sam.get('/admin').expect(303)).headers.location).toBe('/admin/totp/setup');
  });

  it('C11: bad input gives field errors with the input kept; a second account for one address is refused', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    const bad = await admin.agent
      .post('/admin/staff')
      .type('form')
      .send({ _csrf, name: 'Short Pw', email: 'not-an-address', role: 'root', password: 'short' })
      .expect(422);
    expect(bad.text).toContain('Enter an e-mail address like name@example.org.');
    expect(bad.text).toContain('Choose a role.');
    expect(bad.text).toContain('Use at least 12 characters.');
    expect(bad.text).toContain('value="Short Pw"');
    expect(bad.text).not.toContain('value="short"');
    const dup = await admin.agent
      .post('/admin/staff')
      .type('form')
      .send({ _csrf, name: 'Again', email: 'SAM@example.org', role: 'auditor', password: 'another long password' })
      .expect(422);
    expect(dup.text).toContain('A staff account with that e-mail address exists.');
    expect(await ctx.db('staff_users').whereIn('email', ['not-an-address', 'SAM@example.org']).whereNot({ name: 'Sam Support' })).toEqual(
      [],
    );
    expect(await auditOf('staff.created')).toHaveLength(1);
  });

  it('C11: a disabled account loses its open session at the next request and cannot sign in again', async () => {
    const target = await signedInStaff(ctx, 'leaver@example.org', 'support');
    await target.agent.get('/admin').expect(200);
    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    const ask = await admin.agent.post(`/admin/staff/${target.id}/disable`).type('form').send({ _csrf }).expect(200);
    expect(ask.text).toContain('Disable the account of Staff support?');
    expect(ask.text).toContain('(leaver@example.org, Support) can no longer sign in');
    expect(ask.text).toContain('This cannot be undone here');
    expect((await ctx.db('staff_users').where({ id: target.id }).first()).disabled_at).toBeNull();
    await target.agent.get('/admin').expect(200);
    const res = await admin.agent.post(`/admin/staff/${target.id}/disable`).type('form').send({ _csrf, confirmed: 'yes' });
    expect(res.headers.location).toBe('/admin/staff?disabled');
    expect((await ctx.db('staff_users').where({ id: target.id }).first()).disabled_at).toBeInstanceOf(Date);
    expect(await auditOf('staff.disabled')).toEqual([{ staff_user_id: admin.id, member_id: null, details: { staffId: target.id } }]);

    const after = await target.agent.get('/admin/members');
    expect(after.status).toBe(303);
    expect(after.headers.location).toBe('/admin/login');
    const again = await postLogin(request.agent(ctx.http), 'leaver@example.org');
    expect(again.status).toBe(422);
    expect(again.text).toContain('That e-mail address and password do not match.');
    // Disabling again changes nothing and records nothing.
    await admin.agent.post(`/admin/staff/${target.id}/disable`).type('form').send({ _csrf, confirmed: 'yes' }).expect(303);
    expect(await auditOf('staff.disabled')).toHaveLength(1);
  });

  it('C11: an admin cannot disable their own account; unknown and malformed ids are not found', async () => {
    const _csrf = await csrfFrom(admin.agent, '/admin/staff');
    const self = await admin.agent.post(`/admin/staff/${admin.id}/disable`).type('form').send({ _csrf }).expect(409);
    expect(self.text).toContain('You cannot disable your own account.');
    await admin.agent.post(`/admin/staff/${admin.id}/disable`).type('form').send({ _csrf, confirmed: 'yes' }).expect(409);
    expect((await ctx.db('staff_users').where({ id: admin.id }).first()).disabled_at).toBeNull();
    await admin.agent.get('/admin').expect(200);
    await admin.agent.post('/admin/staff/:id/disable').type('form').send({ _csrf }).expect(404);
    await admin.agent.post('/admin/staff/not-a-uuid/disable').type('form').send({ _csrf }).expect(404);
    await admin.agent.post('/admin/staff/00000000-0000-4000-8000-000000000000/disable').type('form').send({ _csrf }).expect(404);
    expect(await auditOf('staff.disabled')).toHaveLength(1);
  });

  it('C11: support and auditor cannot see or change staff accounts', async () => {
    const support = await signedInStaff(ctx, 'helper@example.org', 'support');
    const auditor = await signedInStaff(ctx, 'watcher@example.org', 'auditor');
    for (const agent of [support.agent, auditor.agent]) {
      await agent.get('/admin/staff').expect(403);
      const _csrf = await csrfFrom(agent, '/admin/password');
      await agent
        .post('/admin/staff')
        .type('form')
        .send({ _csrf, name: 'Sneaky', email: 'sneaky@example.org', role: 'admin', password: 'a long initial password' })
        .expect(403);
      await agent.post(`/admin/staff/${admin.id}/disable`).type('form').send({ _csrf }).expect(403);
    }
    expect(await ctx.db('staff_users').where({ email: 'sneaky@example.org' })).toEqual([]);
    expect((await ctx.db('staff_users').where({ id: admin.id }).first()).disabled_at).toBeNull();
  });
});

describe('C11: TOTP secrets at rest and single-use codes', () => {
  it('C11: an enrolled secret is stored encrypted (AES-256-GCM), not in clear; the database refuses a clear one', async () => {
    const id = await createStaff(ctx, 'enrols@example.org', 'admin');
    await ctx.db('staff_users').where({ id }).update({ totp_secret: null, totp_enabled_at: null });
    const agent = request.agent(ctx.http);
    expect((await postLogin(agent, 'enrols@example.org')).headers.location).toBe('/admin');
    const setup = await agent.get('/admin/totp/setup').expect(200);
    const secret = /<code id="totp-secret">([A-Z2-7]+)<\/code>/.exec(setup.text)?.[1] ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(setup.text)?.[1];
    await agent
      .post('/admin/totp/setup')
      .type('form')
      .send({ _csrf, code: await generate({ secret }) })
      .expect(200);

    const row = (await ctx.db('staff_users').where({ id }).first()) as { totp_secret: string; totp_last_step: number | null };
    expect(row.totp_secret).not.toContain(secret);
    expect(row.totp_secret).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(row.totp_secret.split('.')[2] ?? '', 'base64url').toString('latin1')).not.toContain(secret);
    expect(decryptTotpSecret(row.totp_secret, ctx.config.secretKeys, id)).toBe(secret);
    // Bound to the account: the same ciphertext does not open for another staff id, nor under another key.
    expect(decryptTotpSecret(row.totp_secret, ctx.config.secretKeys, admin.id)).toBeUndefined();
    expect(decryptTotpSecret(row.totp_secret, ['another-key-0123456789abcdefghijklmnop'], id)).toBeUndefined();
    // The enrolment code counts as used.
    expect(row.totp_last_step).not.toBeNull();

    await expect(ctx.db('staff_users').where({ id }).update({ totp_secret: STAFF_TOTP_SECRET })).rejects.toThrow(
      /staff_users_totp_secret_encrypted/,
    );
  });

  it('C11: after a key rotation (new key first) a secret encrypted under the old key still decrypts', () => {
    const stored = encryptTotpSecret(STAFF_TOTP_SECRET, ['old-key-0123456789abcdefghijklmnopqrs'], 'staff-1');
    expect(decryptTotpSecret(stored, ['new-key-0123456789abcdefghijklmnopqrs', 'old-key-0123456789abcdefghijklmnopqrs'], 'staff-1')).toBe(
      STAFF_TOTP_SECRET,
    );
    expect(decryptTotpSecret(stored, ['new-key-0123456789abcdefghijklmnopqrs'], 'staff-1')).toBeUndefined();
    const tampered = stored.replace(
      /\.([A-Za-z0-9_-])([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/,
      (_m, a: string, b: string, t: string) => `.${a === 'A' ? 'B' : 'A'}${b}.${t}`,
    );
    expect(tampered).not.toBe(stored);
    expect(decryptTotpSecret(tampered, ['old-key-0123456789abcdefghijklmnopqrs'], 'staff-1')).toBeUndefined();
  });

  it('C11: a code accepted once is refused when replayed in the same window, and audited', async () => {
    const id = await createStaff(ctx, 'replay@example.org', 'admin');
    const first = request.agent(ctx.http);
    expect((await postLogin(first, 'replay@example.org')).headers.location).toBe('/admin/login/totp');
    const code = await freshTotpCode(ctx, id);
    const c1 = await csrfFrom(first, '/admin/login/totp');
    expect((await first.post('/admin/login/totp').type('form').send({ _csrf: c1, code })).headers.location).toBe('/admin');

    const second = request.agent(ctx.http);
    expect((await postLogin(second, 'replay@example.org')).headers.location).toBe('/admin/login/totp');
    const c2 = await csrfFrom(second, '/admin/login/totp');
    const replay = await second.post('/admin/login/totp').type('form').send({ _csrf: c2, code }).expect(422);
    expect(replay.text).toContain('That code was used already.');
    expect((await second.get('/admin')).headers.location).toBe('/admin/login');
    const failed = (await auditOf('staff.login_failed')).filter((e) => e.staff_user_id === id);
    expect(failed).toEqual([
      { staff_user_id: id, member_id: null, details: { network: '127.0.0.0', factor: 'totp', reason: 'code_reused' } },
    ]);

    // A code of a later step signs in.
    const next = await freshTotpCode(ctx, id);
    expect(next).not.toBe(code);
    expect((await second.post('/admin/login/totp').type('form').send({ _csrf: c2, code: next })).headers.location).toBe('/admin');
    await second.get('/admin').expect(200);
  });

  it('C11: the staff test helper signs the same admin in four times in a row without reusing a code', async () => {
    await createStaff(ctx, 'often@example.org', 'admin');
    const started = Date.now();
    for (let i = 0; i < 4; i++) await (await staffAgent(ctx, 'often@example.org')).get('/admin').expect(200);
    // Four sign-ins need four distinct time steps: the fourth had to wait for the clock.
    expect(Date.now() - started).toBeLessThan(65000);
    const { totp_last_step: last } = (await ctx.db('staff_users').where({ email: 'often@example.org' }).first('totp_last_step')) as {
      totp_last_step: number;
    };
    expect(last).toBeGreaterThanOrEqual(Math.floor(Date.now() / 30000));
  }, 70000);
});

describe('C11: audit log filters', () => {
  let memberA: string;
  let memberB: string;
  let other: string;

  beforeAll(async () => {
    memberA = await insertMember(ctx.db, 'filter-a@example.org', 'Filter A');
    memberB = await insertMember(ctx.db, 'filter-b@example.org', 'Filter B');
    other = await createStaff(ctx, 'other@example.org', 'support', 'Other Person');
    const at = (iso: string) => new Date(iso);
    await ctx.db('audit_log').insert([
      { staff_user_id: other, action: 'test.old', member_id: memberA, details: '{}', created_at: at('2020-03-01T10:00:00Z') },
      { staff_user_id: other, action: 'test.mid', member_id: memberB, details: '{}', created_at: at('2020-03-15T23:59:00Z') },
      { staff_user_id: admin.id, action: 'test.mid', member_id: memberA, details: '{}', created_at: at('2020-03-16T00:00:01Z') },
    ]);
    const bulk = Array.from({ length: 55 }, (_, i) => ({
      staff_user_id: admin.id,
      action: 'test.bulk',
      member_id: memberB,
      details: JSON.stringify({ n: i }),
      created_at: new Date(Date.UTC(2021, 0, 1, 0, i)),
    }));
    await ctx.db('audit_log').insert(bulk);
  });

  /** "action@YYYY-MM-DD hh:mm:ss" per row, from the rows' machine-readable attributes. */
  const rowsOf = (html: string) =>
    [...html.matchAll(/<tr data-action="([^"]+)" data-at="([^"]+)">/g)].map((m) => `${m[1]}@${m[2]!.replace('T', ' ').slice(0, 19)}`);

  it('C11: filters by staff user, member, action and date range (UTC days, both ends included)', async () => {
    const byStaff = await admin.agent.get(`/admin/audit?staff=${other}`).expect(200);
    expect(rowsOf(byStaff.text)).toEqual(['test.mid@2020-03-15 23:59:00', 'test.old@2020-03-01 10:00:00']);
    expect(byStaff.text).toMatch(new RegExp(`<option value="${other}" selected>Other Person \\(Support\\)</option>`));

    const byMember = await admin.agent.get(`/admin/audit?member=${memberA}&action=test.mid`).expect(200);
    expect(rowsOf(byMember.text)).toEqual(['test.mid@2020-03-16 00:00:01']);

    const byDates = await admin.agent.get('/admin/audit?from=2020-03-01&to=2020-03-15').expect(200);
    expect(rowsOf(byDates.text)).toEqual(['test.mid@2020-03-15 23:59:00', 'test.old@2020-03-01 10:00:00']);
    const oneDay = await admin.agent.get('/admin/audit?from=2020-03-16&to=2020-03-16').expect(200);
    expect(rowsOf(oneDay.text)).toEqual(['test.mid@2020-03-16 00:00:01']);
    const none = await admin.agent.get(`/admin/audit?staff=${other}&from=2020-03-16`).expect(200);
    expect(rowsOf(none.text)).toEqual([]);
    expect(none.text).toContain('No entries match these filters.');
  });

  it('C11: a malformed date, member id or staff id gives a field error on the page, never a 500', async () => {
    const badDate = await admin.agent.get('/admin/audit?from=2020-02-30&to=yesterday&action=test.mid').expect(422);
    expect(badDate.text).toContain('Enter the date as YYYY-MM-DD, for example 2026-11-01.');
    expect(badDate.text).toContain('Enter the date as YYYY-MM-DD, for example 2026-11-30.');
    expect(badDate.text).toMatch(/id="from" name="from" type="date" value="2020-02-30"[^>]*aria-invalid="true"/);
    expect(badDate.text).toContain('class="error-summary"');
    expect(rowsOf(badDate.text)).toEqual([]);
    const badMember = await admin.agent.get("/admin/audit?member=1' OR '1'='1").expect(422);
    expect(badMember.text).toContain('Enter a member id like');
    expect(badMember.text).toContain('value="1&#39; OR &#39;1&#39;=&#39;1"');
    const badStaff = await admin.agent.get('/admin/audit?staff=:id').expect(422);
    expect(badStaff.text).toContain('Choose a staff user from the list.');
    const reversed = await admin.agent.get('/admin/audit?from=2020-03-16&to=2020-03-01').expect(422);
    expect(reversed.text).toContain('must not be before the');
    await admin.agent.get('/admin/audit?page=abc&action[]=x').expect(200);
  });

  it('C11: the pagination links keep the filters', async () => {
    const first = await admin.agent.get(`/admin/audit?action=test.bulk&member=${memberB}&from=2021-01-01`).expect(200);
    expect(rowsOf(first.text)).toHaveLength(50);
    const older = /<a href="([^"]+)" rel="next">/.exec(first.text)?.[1]?.replace(/&amp;/g, '&') ?? '';
    const params = new URL(older, 'http://x').searchParams;
    expect(Object.fromEntries(params)).toEqual({ action: 'test.bulk', member: memberB, from: '2021-01-01', page: '2' });
    const second = await admin.agent.get(older).expect(200);
    expect(rowsOf(second.text)).toEqual([
      'test.bulk@2021-01-01 00:04:00',
      'test.bulk@2021-01-01 00:03:00',
      'test.bulk@2021-01-01 00:02:00',
      'test.bulk@2021-01-01 00:01:00',
      'test.bulk@2021-01-01 00:00:00',
    ]);
    const newer = /<a href="([^"]+)" rel="prev">/.exec(second.text)?.[1]?.replace(/&amp;/g, '&') ?? '';
    expect(Object.fromEntries(new URL(newer, 'http://x').searchParams)).toEqual({
      action: 'test.bulk',
      member: memberB,
      from: '2021-01-01',
      page: '1',
    });
    expect(second.text).not.toContain('rel="next"');
  });

  it('C11: an auditor can filter the audit log; support cannot open it', async () => {
    const auditor = await signedInStaff(ctx, 'filter-auditor@example.org', 'auditor');
    const page = await auditor.agent.get(`/admin/audit?member=${memberA}`).expect(200);
    expect(rowsOf(page.text).filter((r) => r.startsWith('test.'))).toEqual([
      'test.mid@2020-03-16 00:00:01',
      'test.old@2020-03-01 10:00:00',
    ]);
    const support = await signedInStaff(ctx, 'filter-support@example.org', 'support');
    await support.agent.get('/admin/audit').expect(403);
  });
});
