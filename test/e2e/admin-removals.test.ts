import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { carryOutDueRemovals } from '../../src/removal/erasure.service.js';
import { withinLimit } from '../../src/shared/rate-limit.js';
import { makeServiceContext, type ServiceContext } from '../../src/context.js';
import { purposeKey } from '../../src/shared/keys.js';
import { addressHash, isSuppressed, suppressionKeys } from '../../src/shared/suppression.js';
import { startTestContext, TEST_SECRET, type TestContext } from '../helpers/app.js';
import { ensurePartner, insertMember, insertPolicy, insertTopic, recordConsent, suppressLegacy } from '../helpers/fixtures.js';
import { csrfFrom, linkIn, linkPost } from '../helpers/session.js';
import type { CaughtMessage } from '../helpers/smtp.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let svc: ServiceContext;
let support: { id: string; agent: Agent };
let auditor: { id: string; agent: Agent };
let policyId: number;
let newsletter: number;
let sharing: number;

beforeAll(async () => {
  ctx = await startTestContext();
  svc = makeServiceContext(ctx.config, ctx.db);
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  newsletter = await insertTopic(ctx.db, { slug: 'bulletin', kind: 'newsletter', policyId });
  sharing = await insertTopic(ctx.db, { slug: 'acme-sharing', kind: 'partner_data_sharing', policyId, partner: 'Acme Partners' });
  support = await signedInStaff(ctx, 'support@staff.test', 'support');
  auditor = await signedInStaff(ctx, 'auditor@staff.test', 'auditor');
  for (const { agent } of [support, auditor]) csrf.set(agent, await csrfFrom(agent, '/admin/removals'));
  await ctx.startWorker();
});
afterAll(() => ctx.close());

/** A member with a confirmed removal request due in `dueInDays` (negative: already past due). */
async function confirmedRequest(email: string, dueInDays: number, name = 'Test Member'): Promise<{ memberId: string; requestId: string }> {
  const memberId = await insertMember(ctx.db, email, name);
  const [row] = await ctx
    .db('removal_requests')
    .insert({
      member_id: memberId,
      status: 'confirmed',
      requested_at: ctx.db.raw(`now() - interval '40 days'`),
      confirmed_at: ctx.db.raw(`now() - interval '35 days'`),
      due_at: ctx.db.raw('now() + make_interval(days => ?)', [dueInDays]),
    })
    .returning('id');
  return { memberId, requestId: (row as { id: string }).id };
}

const csrf = new Map<Agent, string>();
/** A staff form POST with the session's CSRF token (csrf-sync keeps one token per session). */
function post(agent: Agent, path: string, fields: Record<string, string> = {}) {
  return agent
    .post(path)
    .type('form')
    .send({ _csrf: csrf.get(agent), ...fields });
}

const statusOf = async (requestId: string) =>
  ((await ctx.db('removal_requests').where({ id: requestId }).first('status')) as { status: string }).status;
const auditFor = (action: string, requestId: string) =>
  ctx.db('audit_log').where({ action }).whereRaw(`details ->> 'requestId' = ?`, [requestId]);
const sentTo = (m: CaughtMessage, to: string) => m.envelopeTo.some((a) => a.toLowerCase() === to.toLowerCase());
const mailTo = (to: string, subject: string) => ctx.smtp.waitFor((m) => sentTo(m, to) && (m.parsed.subject ?? '').includes(subject));

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every text-like column of every table in every non-system schema, with how many rows contain `needle`. */
async function rowsContaining(needle: string): Promise<{ table: string; column: string; count: number }[]> {
  const columns = (
    await ctx.db.raw<{ rows: { table_schema: string; table_name: string; column_name: string }[] }>(
      `SELECT c.table_schema, c.table_name, c.column_name
     FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
     WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
       AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') OR c.udt_name = 'citext')`,
    )
  ).rows;
  expect(columns.length).toBeGreaterThan(20);
  const found: { table: string; column: string; count: number }[] = [];
  for (const c of columns) {
    const { rows } = await ctx.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM ??.?? WHERE ??::text ILIKE ?`, [
      c.table_schema,
      c.table_name,
      c.column_name,
      `%${needle}%`,
    ]);
    if (rows[0]!.n > 0) found.push({ table: `${c.table_schema}.${c.table_name}`, column: c.column_name, count: rows[0]!.n });
  }
  return found;
}

describe('the removal queue', () => {
  it('C6: lists confirmed and held requests with a member link; an auditor sees it without the forms', async () => {
    const { memberId, requestId } = await confirmedRequest('queued@example.org', 10);
    const page = await support.agent.get('/admin/removals').expect(200);
    expect(page.text).toContain(requestId);
    expect(page.text).toContain(`href="/admin/members/${memberId}"`);
    expect(page.text).toContain(`action="/admin/removals/${requestId}/hold"`);
    expect(page.text).toMatch(new RegExp(`<label for="reason-${requestId}">`));
    expect(page.text).not.toContain('queued@example.org');
    const seen = await auditor.agent.get('/admin/removals').expect(200);
    expect(seen.text).toContain(requestId);
    expect(seen.text).not.toContain(`action="/admin/removals/${requestId}/hold"`);
    await post(auditor.agent, `/admin/removals/${requestId}/carry-out`).expect(403);
    expect(await statusOf(requestId)).toBe('confirmed');
  });

  it('C6: a hold needs a reason: without one the form comes back with a field error and nothing changes', async () => {
    const { requestId } = await confirmedRequest('noreason@example.org', -1);
    const res = await post(support.agent, `/admin/removals/${requestId}/hold`, { reason: '   ' }).expect(422);
    expect(res.text).toContain('Enter the legal reason for the hold.');
    expect(res.text).toContain(`href="#reason-${requestId}"`);
    expect(res.text).toMatch(/aria-invalid="true"/);
    expect(await statusOf(requestId)).toBe('confirmed');
    expect(await auditFor('removal.held', requestId)).toHaveLength(0);
    const tooLong = await post(support.agent, `/admin/removals/${requestId}/hold`, { reason: 'x'.repeat(1001) }).expect(422);
    expect(tooLong.text).toContain('1000 characters or fewer');
    expect(await statusOf(requestId)).toBe('confirmed');
  });

  it('C6, C14: a held request is not carried out even past due, and the member is told of the hold', async () => {
    const { memberId, requestId } = await confirmedRequest('held@example.org', -2);
    await post(support.agent, `/admin/removals/${requestId}/hold`, { reason: 'Court order 2026/17' })
      .expect(303)
      .expect('location', '/admin/removals?notice=held');
    const row = await ctx.db('removal_requests').where({ id: requestId }).first();
    expect(row).toMatchObject({ status: 'held', hold_reason: 'Court order 2026/17' });
    const [entry] = await auditFor('removal.held', requestId);
    expect(entry).toMatchObject({ staff_user_id: support.id, member_id: memberId });
    const mail = await mailTo('held@example.org', 'on hold');
    expect(mail.parsed.text).toContain('Nothing is removed while the hold lasts');
    expect(mail.parsed.text).toContain('privacy@assent.test');

    const run = await carryOutDueRemovals(svc);
    expect(run.completed).not.toContain(requestId);
    expect(await statusOf(requestId)).toBe('held');
    expect(await ctx.db('members').where({ id: memberId }).first('status', 'email')).toEqual({
      status: 'active',
      email: 'held@example.org',
    });
    // Neither can staff carry it out while held.
    await post(support.agent, `/admin/removals/${requestId}/carry-out`).expect(409);
    expect(await statusOf(requestId)).toBe('held');
  });

  it('C6, C14: releasing a hold puts the request back to confirmed with its due date, and the member is told', async () => {
    const { memberId, requestId } = await confirmedRequest('release@example.org', 5);
    await post(support.agent, `/admin/removals/${requestId}/hold`, { reason: 'Pending audit' }).expect(303);
    const before = await ctx.db('removal_requests').where({ id: requestId }).first('due_at');
    await post(support.agent, `/admin/removals/${requestId}/release`).expect(303).expect('location', '/admin/removals?notice=released');
    const after = await ctx.db('removal_requests').where({ id: requestId }).first('status', 'due_at');
    expect(after.status).toBe('confirmed');
    expect(after.due_at).toEqual(before.due_at);
    expect(await auditFor('removal.released', requestId)).toEqual([
      expect.objectContaining({ staff_user_id: support.id, member_id: memberId }),
    ]);
    const mail = await mailTo('release@example.org', 'hold on your removal request is lifted');
    expect(mail.parsed.text).toContain('/account/removal');
    // A request that is not held cannot be released again.
    await post(support.agent, `/admin/removals/${requestId}/release`).expect(409);
  });

  it('C6: staff can carry out a confirmed request early, before its due date', async () => {
    const { memberId, requestId } = await confirmedRequest('early@example.org', 30);
    // The first post asks: it names the due date, says it cannot be undone, and erases nothing.
    const ask = await post(support.agent, `/admin/removals/${requestId}/carry-out`).expect(200);
    expect(ask.text).toContain('Erase this member’s data now?');
    expect(ask.text).toMatch(/The request is due on \d{1,2} \w+ \d{4}; carrying it out now skips/);
    expect(ask.text).toContain('No partner received their data');
    expect(ask.text).toContain('This cannot be undone.');
    expect(ask.text).toContain('>Erase 1 member’s data now</button>');
    expect(ask.text).not.toContain('early@example.org');
    expect(await statusOf(requestId)).toBe('confirmed');
    await post(support.agent, `/admin/removals/${requestId}/carry-out`, { confirmed: 'yes' })
      .expect(303)
      .expect('location', '/admin/removals?notice=carried-out');
    expect(await statusOf(requestId)).toBe('completed');
    expect(await ctx.db('members').where({ id: memberId }).first('status', 'email')).toEqual({ status: 'erased', email: null });
    expect(await auditFor('removal.carried_out', requestId)).toEqual([
      expect.objectContaining({ staff_user_id: support.id, member_id: memberId }),
    ]);
    await mailTo('early@example.org', 'your data has been removed');
    const page = await support.agent.get('/admin/removals').expect(200);
    expect(page.text).toMatch(new RegExp(`Recently carried out[\\s\\S]*${requestId}`));
    // Carrying it out twice is refused calmly.
    await post(support.agent, `/admin/removals/${requestId}/carry-out`).expect(409);
  });

  it('C6: the scheduled task, run by the real worker, carries out a due request on its own and leaves one not yet due', async () => {
    const due = await confirmedRequest('due@example.org', -1);
    const notYet = await confirmedRequest('notyet@example.org', 3);
    await ctx.db.raw(`SELECT graphile_worker.add_job('carry_out_removals', '{}'::json)`);
    await waitUntil(async () => (await statusOf(due.requestId)) === 'completed', 'the task to carry out the due request');
    expect(await ctx.db('members').where({ id: due.memberId }).first('status')).toEqual({ status: 'erased' });
    const [entry] = await auditFor('removal.carried_out', due.requestId);
    expect(entry).toMatchObject({ staff_user_id: null, details: expect.objectContaining({ by: 'schedule' }) });
    expect(await statusOf(notYet.requestId)).toBe('confirmed');
    await mailTo('due@example.org', 'your data has been removed');
  });
});

describe('carrying out a removal', () => {
  const email = 'Zebedee.Erasable@Example.org';
  const name = 'Zebedee Quillfeather';
  let memberId: string;
  let requestId: string;
  let ledgerBefore: number;
  let limitsBefore: number;
  let queuedEarlier: string;
  let betaPartner: number;

  beforeAll(async () => {
    ({ memberId, requestId } = await confirmedRequest(email, 10, name));
    await ctx
      .db('members')
      .where({ id: memberId })
      .update({ postal_address: '1 Quill Lane', phone: '+44 1234 567890', password_hash: 'x' });
    await recordConsent(ctx.db, { memberId, topicId: newsletter, policyId, to: 'opted_in', source: 'signup' });
    await recordConsent(ctx.db, { memberId, topicId: sharing, policyId, to: 'opted_in', source: 'member_web' });
    const contract = { contract_reference: 'DPA-1', terms_date: '2026-01-01' };
    const acme = await ensurePartner(ctx.db, 'Acme Partners');
    await ctx.db('partners').where({ id: acme }).update(contract);
    betaPartner = await ensurePartner(ctx.db, 'Beta Research', { reference: 'DPA-2', termsDate: '2026-01-01' });
    // Two disclosures with consent to Acme, one required by law to Beta: one follow-up per partner.
    for (const [partnerId, legal] of [
      [acme, null],
      [acme, null],
      [betaPartner, 'Court order 12/2026'],
    ] as const) {
      const [d] = await ctx
        .db('disclosures')
        .insert({
          partner_id: partnerId,
          purpose: 'Research panel',
          kind: legal ? 'legal' : 'consent',
          legal_reference: legal,
          staff_user_id: support.id,
        })
        .returning('id');
      await ctx.db('disclosure_members').insert({ disclosure_id: (d as { id: string }).id, member_id: memberId });
    }
    await ctx.db('staff_change_notes').insert({ member_id: memberId, staff_user_id: support.id, channel: 'phone', note: `${name} phoned` });
    await ctx.db('sessions').insert({
      sid: 'erasable-session',
      sess: JSON.stringify({ cookie: {}, passport: { user: { kind: 'member', id: memberId } } }),
      expire: ctx.db.raw(`now() + interval '1 day'`),
    });
    await ctx.db('member_tokens').insert({
      member_id: memberId,
      purpose: 'email_verify',
      token_hash: 'h'.repeat(64),
      data: JSON.stringify({ email: 'new.zebedee@example.org' }),
      expires_at: ctx.db.raw(`now() + interval '1 hour'`),
    });
    await ctx.db('pending_signups').insert({
      email: email.toLowerCase(),
      name,
      policy_version_id: policyId,
      age_confirmed: true,
      token_hash: 'p'.repeat(64),
      expires_at: ctx.db.raw(`now() + interval '1 day'`),
    });
    await ctx.db('used_signup_links').insert({ token_hash: 'u'.repeat(64), member_id: memberId });
    // An earlier message, already sent, and one still queued (its job would run later).
    await ctx.db('email_messages').insert({
      kind: 'welcome',
      recipient: email,
      member_id: memberId,
      message_id: '<earlier@assent.test>',
      subject: `Welcome ${name}`,
      text_body: `Dear ${name}, your address ${email}`,
      html_body: `<p>Dear ${name}</p>`,
      status: 'sent',
      sent_at: ctx.db.fn.now(),
    });
    const [q] = await ctx
      .db('email_messages')
      .insert({
        kind: 'preferences_changed',
        recipient: email,
        member_id: memberId,
        message_id: '<queued@assent.test>',
        subject: 'Your choices',
        text_body: `Dear ${name}`,
        html_body: `<p>Dear ${name}</p>`,
      })
      .returning('id');
    queuedEarlier = (q as { id: string }).id;
    // Rate-limit counters keyed by the address (a sign-in link asked for) and by someone else's.
    await withinLimit(ctx.db, { action: 'signin-link:address', windowSeconds: 900, max: 5 }, email);
    await withinLimit(ctx.db, { action: 'signin-link:address', windowSeconds: 900, max: 5 }, 'someone.else@example.org');
    limitsBefore = Number(((await ctx.db('rate_limits').count({ n: '*' })) as { n: string }[])[0]!.n);
    ledgerBefore = (await ctx.db('consent_ledger').where({ member_id: memberId })).length;

    const ask = await post(support.agent, `/admin/removals/${requestId}/carry-out`).expect(200);
    expect(ask.text).toContain('A follow-up is opened for each of the 2 partners that received their data.');
    await post(support.agent, `/admin/removals/${requestId}/carry-out`, { confirmed: 'yes' }).expect(303);
  });

  it('C6, C14: the member is mailed a confirmation of what was erased and what is kept, before the address is gone', async () => {
    const mail = await mailTo(email.toLowerCase(), 'your data has been removed');
    const text = mail.parsed.text ?? '';
    expect(text).toContain(`Dear ${name},`);
    expect(text).toContain('We erased your name, e-mail address, postal address, phone number and password');
    expect(text).toContain('keyed fingerprint of your e-mail address');
    expect(text).toContain('anonymised form');
    expect(text).toContain('Acme Partners, Beta Research');
    expect(mail.raw).not.toMatch(/^List-Unsubscribe:/m);
  });

  it('C6: no personal data is left in the member row, and the address appears in no text column of any table once the mail is sent', async () => {
    await waitUntil(async () => {
      const row = await ctx.db('email_messages').where({ member_id: memberId, kind: 'removal_completed' }).first('status', 'recipient');
      return row?.status === 'sent' && row.recipient === null;
    }, 'the completion message to be sent and scrubbed');
    const member = await ctx.db('members').where({ id: memberId }).first();
    expect(member).toMatchObject({
      status: 'erased',
      email: null,
      name: null,
      postal_address: null,
      phone: null,
      password_hash: null,
    });
    expect(member.erased_at).toBeInstanceOf(Date);
    expect(await rowsContaining(email)).toEqual([]);
    expect(await rowsContaining(name)).toEqual([]);
    expect(await rowsContaining('new.zebedee@example.org')).toEqual([]);
    // The walk is real: a live member's address is found by it.
    expect(await rowsContaining('queued@example.org')).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: 'public.members' })]),
    );
  });

  it('C6: sessions, links, notes, pending sign-ups and rate-limit counters are deleted; the queued earlier message is cancelled, not sent', async () => {
    expect(await ctx.db('sessions').where({ sid: 'erasable-session' })).toHaveLength(0);
    // Only the erased address's counter went; everyone else's stay.
    expect(await ctx.db('rate_limits').count({ n: '*' })).toEqual([{ n: limitsBefore - 1 }]);
    expect(await ctx.db('member_tokens').where({ member_id: memberId })).toHaveLength(0);
    expect(await ctx.db('staff_change_notes').where({ member_id: memberId })).toHaveLength(0);
    expect(await ctx.db('pending_signups').whereRaw('token_hash = ?', ['p'.repeat(64)])).toHaveLength(0);
    expect(await ctx.db('used_signup_links').where({ member_id: memberId })).toHaveLength(0);
    expect(await ctx.db('email_messages').where({ id: queuedEarlier }).first('status', 'recipient')).toEqual({
      status: 'cancelled',
      recipient: null,
    });
    expect(ctx.smtp.messages.filter((m) => m.parsed.subject === 'Your choices')).toHaveLength(0);
  });

  it('C6: the consent history is kept, anonymised, with opt-outs recorded by the erasure so no audience includes the member', async () => {
    const ledger = await ctx.db('consent_ledger').where({ member_id: memberId }).orderBy('id');
    expect(ledger.length).toBe(ledgerBefore + 2);
    expect(ledger.slice(ledgerBefore)).toEqual([
      expect.objectContaining({
        topic_id: newsletter,
        from_status: 'opted_in',
        to_status: 'opted_out',
        source: 'erasure',
        channel: 'system',
      }),
      expect.objectContaining({ topic_id: sharing, from_status: 'opted_in', to_status: 'opted_out', source: 'erasure', channel: 'system' }),
    ]);
    expect(await ctx.db('consents').where({ member_id: memberId, status: 'opted_in' })).toHaveLength(0);
    // The database refuses any later opt-in of the erased member.
    await expect(
      recordConsent(ctx.db, { memberId, topicId: newsletter, policyId, to: 'opted_in', source: 'staff', channel: 'phone', reference: 'x' }),
    ).rejects.toThrow(/erased member cannot be opted in/);
  });

  it('C6, C11: only a keyed hash of the address is kept on the suppression list, keyed with the derived suppression key', async () => {
    expect(await isSuppressed(ctx.db, email, svc.keys.suppression)).toBe(true);
    expect(await isSuppressed(ctx.db, email, suppressionKeys(['another-key-0123456789abcdefghijklmnopqrs']))).toBe(false);
    const rows = await ctx.db('suppression_list').select('address_hash');
    expect(rows.every((r: { address_hash: string }) => /^[0-9a-f]{64}$/.test(r.address_hash))).toBe(true);
    const hashes = rows.map((r: { address_hash: string }) => r.address_hash);
    expect(hashes).toContain(addressHash(email, purposeKey(TEST_SECRET, 'suppression')));
    expect(hashes).not.toContain(addressHash(email, TEST_SECRET));
  });

  it('C6: a follow-up is opened for every partner that received the data, and staff mark each done', async () => {
    const followUps = await ctx
      .db('partner_follow_ups as f')
      .join('partners as p', 'p.id', 'f.partner_id')
      .where({ removal_request_id: requestId })
      .orderBy('p.name')
      .select('f.id', 'p.name', 'f.done_at');
    expect(followUps.map((f: { name: string }) => f.name)).toEqual(['Acme Partners', 'Beta Research']);
    expect(followUps.every((f: { done_at: Date | null }) => f.done_at === null)).toBe(true);
    const page = await auditor.agent.get('/admin/follow-ups').expect(200);
    expect(page.text).toContain('Beta Research');
    expect(page.text).toContain(requestId);
    expect(page.text).not.toContain('/done"');

    const beta = followUps.find((f: { name: string }) => f.name === 'Beta Research') as { id: string };
    await post(auditor.agent, `/admin/follow-ups/${beta.id}/done`).expect(403);
    await post(support.agent, `/admin/follow-ups/${beta.id}/done`).expect(303).expect('location', '/admin/follow-ups?notice=done');
    const done = await ctx.db('partner_follow_ups').where({ id: beta.id }).first();
    expect(done).toMatchObject({ done_by: support.id, partner_id: betaPartner });
    expect(done.done_at).toBeInstanceOf(Date);
    const audit = await ctx.db('audit_log').where({ action: 'follow_up.done' }).whereRaw(`details ->> 'followUpId' = ?`, [beta.id]);
    expect(audit).toEqual([expect.objectContaining({ staff_user_id: support.id })]);
    await post(support.agent, `/admin/follow-ups/${beta.id}/done`).expect(409);
    const after = await support.agent.get('/admin/follow-ups').expect(200);
    expect(after.text).toMatch(/<h2>Done<\/h2>[\s\S]*Beta Research/);
  });

  it('C6, C15: the erased address signing up again gets only a confirmation mail, and is a member only once its owner confirms', async () => {
    const address = email.toLowerCase();
    const before = ctx.smtp.messages.filter((m) => sentTo(m, address)).length;
    await request(ctx.http)
      .post('/join')
      .type('form')
      .send({ name: 'Zeb Again', email: address, topics: [String(newsletter)], age_confirmed: 'yes' })
      .expect(200);
    const mail = await mailTo(address, 'please confirm your membership');
    expect(await ctx.db('members').where({ email: address })).toHaveLength(0);
    expect(await isSuppressed(ctx.db, address, svc.keys.suppression)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(ctx.smtp.messages.filter((m) => sentTo(m, address)).length).toBe(before + 1);

    // An entry from before key separation goes too: confirming lifts every entry for the address.
    await suppressLegacy(ctx.db, address, TEST_SECRET);
    await linkPost(request(ctx.http), linkIn(mail.parsed.text ?? '', '/join/confirm/')).expect(200);
    expect(await ctx.db('members').where({ email: address }).first('status')).toEqual({ status: 'active' });
    expect(await isSuppressed(ctx.db, address, svc.keys.suppression)).toBe(false);
    const anyKey = [TEST_SECRET, purposeKey(TEST_SECRET, 'suppression')].map((k) => addressHash(address, k));
    expect(await ctx.db('suppression_list').whereIn('address_hash', anyKey)).toHaveLength(0);
    await mailTo(address, 'welcome');
  });
});

describe('bad ids', () => {
  it('C6: a malformed or unknown id gives 404, never a 500', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const id of [':id', 'not-a-uuid', "1' OR '1'='1", unknown]) {
      const path = encodeURIComponent(id);
      await post(support.agent, `/admin/removals/${path}/hold`, { reason: 'x' }).expect(404);
      await post(support.agent, `/admin/removals/${path}/release`).expect(404);
      await post(support.agent, `/admin/removals/${path}/carry-out`).expect(404);
      await post(support.agent, `/admin/follow-ups/${path}/done`).expect(404);
    }
  });
});
