import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { issueMemberToken } from '../../src/identity/member-tokens.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { ensurePartner, insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { csrfFrom, linkPost } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let admin: { id: string; agent: Agent };
let policyId: number;
let partnerId: number;
const m = {} as Record<'alice' | 'amy' | 'bob' | 'carol' | 'dave' | 'erin', string>;

/** The member's own data page, reached through a real single-use data link. */
async function dataPage(memberId: string): Promise<string> {
  const token = await issueMemberToken(ctx.db, memberId, 'data', 30, { use: 'page' });
  return (await linkPost(request(ctx.http), `/l/data/${token}`).expect(200)).text;
}

async function post(agent: Agent, path: string, form: Record<string, string>, csrfPage = '/admin/partners/new') {
  const _csrf = await csrfFrom(agent, csrfPage);
  return agent
    .post(path)
    .type('form')
    .send({ _csrf, ...form });
}

/** Parses a CSV body as produced by csv-stringify (quotes, doubled quotes, newlines in quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endCell();
    else if (ch === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else cell += ch;
  }
  if (cell || row.length) {
    endCell();
    rows.push(row);
  }
  return rows;
}

async function disclosuresOf(partner: number) {
  return ctx.db('disclosures').where({ partner_id: partner }).orderBy('created_at');
}

beforeAll(async () => {
  ctx = await startTestContext();
  admin = await signedInStaff(ctx, 'partners-admin@example.org', 'admin');
  policyId = await insertPolicy(ctx.db, { version: '1.0' });

  // The partner is created through the real form, with its contract on file.
  const created = await post(admin.agent, '/admin/partners', {
    name: 'Acme Books',
    contract_reference: 'K-2026-7',
    terms_date: '2026-01-15',
  });
  expect(created.status).toBe(303);
  partnerId = Number(/^\/admin\/partners\/(\d+)\?created$/.exec(created.headers.location ?? '')?.[1]);
  expect(partnerId).toBeGreaterThan(0);
  const sharing = await insertTopic(ctx.db, { slug: 'share-with-acme', kind: 'partner_data_sharing', policyId, partner: 'Acme Books' });
  const offers = await insertTopic(ctx.db, { slug: 'acme-offers', kind: 'third_party_offer', policyId, partner: 'Acme Books' });
  const news = await insertTopic(ctx.db, { slug: 'news', kind: 'newsletter', policyId });
  const otherSharing = await insertTopic(ctx.db, {
    slug: 'share-with-other',
    kind: 'partner_data_sharing',
    policyId,
    partner: 'Other Ltd',
  });

  m.alice = await insertMember(ctx.db, 'alice@example.org', '=HYPERLINK("http://evil.example","Alice")');
  await ctx.db('members').where({ id: m.alice }).update({ postal_address: '1 High Street\nTown', phone: '+44 20 7946 0000' });
  await recordConsent(ctx.db, { memberId: m.alice, topicId: sharing, policyId, to: 'opted_in', source: 'signup' });
  m.amy = await insertMember(ctx.db, 'amy@example.org', 'Amy Adams');
  await recordConsent(ctx.db, { memberId: m.amy, topicId: sharing, policyId, to: 'opted_in', source: 'member_web' });
  // Opted in, then out just before the export.
  m.bob = await insertMember(ctx.db, 'bob@example.org', 'Bob Brown');
  await recordConsent(ctx.db, { memberId: m.bob, topicId: sharing, policyId, to: 'opted_in', source: 'signup' });
  await recordConsent(ctx.db, { memberId: m.bob, topicId: sharing, policyId, to: 'opted_out', source: 'member_web' });
  // Opted in but never confirmed the sign-up.
  m.carol = await insertMember(ctx.db, 'carol@example.org', 'Carol Pending');
  await recordConsent(ctx.db, { memberId: m.carol, topicId: sharing, policyId, to: 'opted_in', source: 'signup' });
  await ctx.db('members').where({ id: m.carol }).update({ status: 'pending', confirmed_at: null });
  // Opted in, then erased.
  m.dave = await insertMember(ctx.db, 'dave@example.org', 'Dave Erased');
  await recordConsent(ctx.db, { memberId: m.dave, topicId: sharing, policyId, to: 'opted_in', source: 'signup' });
  await ctx.db('members').where({ id: m.dave }).update({ status: 'erased', email: null, name: null, erased_at: ctx.db.fn.now() });
  // Opted in to other things only: this partner's offers (not sharing), a newsletter, another partner's sharing.
  m.erin = await insertMember(ctx.db, 'erin@example.org', 'Erin Else');
  await recordConsent(ctx.db, { memberId: m.erin, topicId: offers, policyId, to: 'opted_in', source: 'signup' });
  await recordConsent(ctx.db, { memberId: m.erin, topicId: news, policyId, to: 'opted_in', source: 'signup' });
  await recordConsent(ctx.db, { memberId: m.erin, topicId: otherSharing, policyId, to: 'opted_in', source: 'signup' });
}, 60000);
afterAll(() => ctx.close());

describe('partners', () => {
  it('C2: staff add and edit partners; bad input re-shows the form with the input kept; every change is audited', async () => {
    const empty = await post(admin.agent, '/admin/partners', { name: '  ', contract_reference: 'X-1', terms_date: '' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('Enter the partner’s name.');
    expect(empty.text).toContain('both its reference and the date of its terms');
    expect(empty.text).toContain('value="X-1"');
    const badDate = await post(admin.agent, '/admin/partners', { name: 'Datefail', contract_reference: 'X-1', terms_date: '2026-02-30' });
    expect(badDate.status).toBe(422);
    expect(badDate.text).toContain('YYYY-MM-DD');
    const dup = await post(admin.agent, '/admin/partners', { name: 'Acme Books' });
    expect(dup.status).toBe(422);
    expect(dup.text).toContain('already a partner with this name');
    expect(await ctx.db('partners').where({ name: 'Datefail' })).toEqual([]);

    const created = await post(admin.agent, '/admin/partners', { name: 'Beta Press', contract_reference: '', terms_date: '' });
    expect(created.status).toBe(303);
    const id = Number(/(\d+)\?created$/.exec(created.headers.location ?? '')?.[1]);
    const page = await admin.agent.get(`/admin/partners/${id}?created`).expect(200);
    expect(page.text).toContain('The partner was added.');
    expect(page.text).toContain('No contract on file.');
    const saved = await post(admin.agent, `/admin/partners/${id}`, {
      name: 'Beta Press',
      contract_reference: 'BP-9',
      terms_date: '2025-12-01',
    });
    expect(saved.headers.location).toBe(`/admin/partners/${id}?saved`);
    expect(await ctx.db('partners').where({ id }).first()).toMatchObject({ contract_reference: 'BP-9' });
    expect((await admin.agent.get(`/admin/partners/${id}`)).text).toContain(
      'Contract on file: <strong>BP-9</strong>, terms dated 2025-12-01.',
    );
    const list = await admin.agent.get('/admin/partners').expect(200);
    expect(list.text).toContain('Beta Press');
    expect(list.text).toContain('BP-9, terms of 2025-12-01');

    const audit = await ctx.db('audit_log').whereIn('action', ['partner.created', 'partner.updated']).orderBy('id');
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['partner.created', 'partner.created', 'partner.updated']);
    expect(audit[2]).toMatchObject({
      staff_user_id: admin.id,
      details: { partnerId: id, changed: ['contract_reference', 'terms_date'], contractOnFile: true },
    });
  });

  it('C2: a consent export includes exactly the members opted in at that moment, is recorded and audited, and shows on their data pages', async () => {
    const before = new Date(Date.now() - 1000);
    const res = await post(
      admin.agent,
      `/admin/partners/${partnerId}/disclosures`,
      { purpose: 'Posting the yearbook' },
      `/admin/partners/${partnerId}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="disclosure-partner-\d+-[\d-]+-[0-9a-f]{8}\.csv"$/);
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual(['name', 'email', 'postal_address', 'phone']);
    const body = rows.slice(1).sort((a, b) => a[1]!.localeCompare(b[1]!));
    // Formula-looking cells are defused with a leading apostrophe.
    expect(body).toEqual([
      [`'=HYPERLINK("http://evil.example","Alice")`, 'alice@example.org', '1 High Street\nTown', `'+44 20 7946 0000`],
      ['Amy Adams', 'amy@example.org', '', ''],
    ]);
    for (const absent of ['bob@', 'carol@', 'Dave', 'erin@']) expect(res.text).not.toContain(absent);

    const [d] = await disclosuresOf(partnerId);
    expect(d).toMatchObject({ kind: 'consent', purpose: 'Posting the yearbook', staff_user_id: admin.id, legal_reference: null });
    expect((d as { created_at: Date }).created_at.getTime()).toBeGreaterThanOrEqual(before.getTime());
    const recorded = await ctx.db('disclosure_members').where({ disclosure_id: d.id }).pluck('member_id');
    expect(recorded.sort()).toEqual([m.alice, m.amy].sort());
    const audit = await ctx.db('audit_log').where({ action: 'disclosure.exported' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ staff_user_id: admin.id, details: { partnerId, disclosureId: d.id, members: 2 } });
    expect(JSON.stringify(audit[0].details)).not.toMatch(/@|Alice|Amy/);

    const page = await admin.agent.get(`/admin/partners/${partnerId}`).expect(200);
    expect(page.text).toMatch(/<td>Members’ consent<\/td>\s*<td>Posting the yearbook<\/td>\s*<td>2<\/td>\s*<td>Staff admin<\/td>/);

    for (const id of [m.alice, m.amy]) {
      const html = await dataPage(id);
      expect(html).toMatch(/<td>Acme Books<\/td>\s*<td>Posting the yearbook<\/td>\s*<td>No: with your consent<\/td>/);
    }
    expect(await dataPage(m.bob)).toContain('we have never disclosed your data to a partner');
  });

  it('C2: a partner without a contract cannot receive anything: the UI refuses with a clear error and the database refuses a direct insert', async () => {
    const noDeal = await ensurePartner(ctx.db, 'NoDeal Ltd');
    const topic = await insertTopic(ctx.db, { slug: 'share-with-nodeal', kind: 'partner_data_sharing', policyId, partner: 'NoDeal Ltd' });
    await recordConsent(ctx.db, { memberId: m.amy, topicId: topic, policyId, to: 'opted_in', source: 'member_web' });

    const page = await admin.agent.get(`/admin/partners/${noDeal}`).expect(200);
    expect(page.text).toContain('No contract on file.');
    const exp = await post(admin.agent, `/admin/partners/${noDeal}/disclosures`, { purpose: 'Mailing' }, `/admin/partners/${noDeal}`);
    expect(exp.status).toBe(422);
    expect(exp.headers['content-type']).toMatch(/^text\/html/);
    expect(exp.text).toContain('This partner has no contract on file');
    expect(exp.text).not.toContain('amy@example.org');
    const legal = await post(
      admin.agent,
      `/admin/partners/${noDeal}/legal-disclosures`,
      { member_ids: m.amy, legal_purpose: 'Court order', legal_reference: 'Case 1/2026' },
      `/admin/partners/${noDeal}`,
    );
    expect(legal.status).toBe(422);
    expect(legal.text).toContain('This partner has no contract on file');
    // Half a contract is no contract.
    await ctx.db('partners').where({ id: noDeal }).update({ contract_reference: 'K-only' });
    expect(
      (await post(admin.agent, `/admin/partners/${noDeal}/disclosures`, { purpose: 'Mailing' }, `/admin/partners/${noDeal}`)).status,
    ).toBe(422);
    expect(await disclosuresOf(noDeal)).toEqual([]);

    for (const kind of ['consent', 'legal'])
      await expect(
        ctx.db('disclosures').insert({
          partner_id: noDeal,
          kind,
          purpose: 'Direct',
          legal_reference: kind === 'legal' ? 'Act 1' : null,
          staff_user_id: admin.id,
        }),
      ).rejects.toThrow(/no contract on file/);
    expect(await disclosuresOf(noDeal)).toEqual([]);
  });

  it('C2: the database refuses a member who does not consent in a consent disclosure, a disclosure without staff, and any change to a recorded one', async () => {
    const [row] = await ctx
      .db('disclosures')
      .insert({ partner_id: partnerId, kind: 'consent', purpose: 'Direct SQL', staff_user_id: admin.id })
      .returning('id');
    const id = (row as { id: string }).id;
    for (const who of [m.bob, m.carol, m.dave, m.erin])
      await expect(ctx.db('disclosure_members').insert({ disclosure_id: id, member_id: who })).rejects.toThrow(/not opted in to sharing/);
    await ctx.db('disclosure_members').insert({ disclosure_id: id, member_id: m.alice });
    await expect(ctx.db('disclosures').insert({ partner_id: partnerId, purpose: 'Nobody did this' })).rejects.toThrow(
      /disclosures_name_staff_user/,
    );
    await expect(
      ctx.db('disclosures').insert({ partner_id: partnerId, kind: 'legal', purpose: 'No reference', staff_user_id: admin.id }),
    ).rejects.toThrow(/disclosures_legal_reference_iff_legal/);
    await expect(ctx.db('disclosure_members').where({ disclosure_id: id }).delete()).rejects.toThrow(/permanent record/);
    await expect(ctx.db('disclosures').where({ id }).update({ purpose: 'Rewritten' })).rejects.toThrow(/permanent record/);
    await expect(ctx.db.raw('TRUNCATE disclosure_members')).rejects.toThrow(/permanent record/);
  });

  it('C2: a disclosure required by law is recorded with its legal reference and shown to the member', async () => {
    const base = `/admin/partners/${partnerId}`;
    const noRef = await post(
      admin.agent,
      `${base}/legal-disclosures`,
      { member_ids: m.bob, legal_purpose: 'Tax audit', legal_reference: ' ' },
      base,
    );
    expect(noRef.status).toBe(422);
    expect(noRef.text).toContain('Enter the law, court order or request');
    expect(noRef.text).toContain(m.bob);
    const badIds = await post(
      admin.agent,
      `${base}/legal-disclosures`,
      { member_ids: 'not-an-id', legal_purpose: 'x', legal_reference: 'y' },
      base,
    );
    expect(badIds.status).toBe(422);
    expect(badIds.text).toContain('These are not member references: not-an-id');
    const unknown = '00000000-0000-4000-8000-000000000000';
    const gone = await post(
      admin.agent,
      `${base}/legal-disclosures`,
      { member_ids: `${m.bob} ${unknown} ${m.dave}`, legal_purpose: 'x', legal_reference: 'y' },
      base,
    );
    expect(gone.status).toBe(422);
    expect(gone.text).toContain(unknown);
    expect(gone.text).toContain(m.dave);
    expect(await ctx.db('disclosures').where({ kind: 'legal' })).toEqual([]);

    const ok = await post(
      admin.agent,
      `${base}/legal-disclosures`,
      { member_ids: `${m.bob}`, legal_purpose: 'Tax audit of membership fees', legal_reference: 'Court order 12/2026' },
      base,
    );
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(`${base}?recorded`);
    const [d] = await ctx.db('disclosures').where({ kind: 'legal' });
    expect(d).toMatchObject({
      partner_id: partnerId,
      purpose: 'Tax audit of membership fees',
      legal_reference: 'Court order 12/2026',
      staff_user_id: admin.id,
    });
    expect(await ctx.db('disclosure_members').where({ disclosure_id: d.id }).pluck('member_id')).toEqual([m.bob]);
    const audit = await ctx.db('audit_log').where({ action: 'disclosure.legal_recorded' }).first();
    expect(audit).toMatchObject({ staff_user_id: admin.id, member_id: m.bob, details: { partnerId, disclosureId: d.id, members: 1 } });
    expect((await admin.agent.get(`${base}?recorded`)).text).toContain('Required by law: Court order 12/2026');
    expect(await dataPage(m.bob)).toMatch(
      /<td>Acme Books<\/td>\s*<td>Tax audit of membership fees<\/td>\s*<td>Yes: Court order 12\/2026<\/td>/,
    );
  });

  it('C2: support and auditor cannot export or record; the auditor sees partners read-only', async () => {
    const auditor = await signedInStaff(ctx, 'partners-auditor@example.org', 'auditor');
    const support = await signedInStaff(ctx, 'partners-support@example.org', 'support');
    const page = await auditor.agent.get(`/admin/partners/${partnerId}`).expect(200);
    expect(page.text).toContain('Posting the yearbook');
    expect(page.text).not.toContain(`action="/admin/partners/${partnerId}/disclosures"`);
    await support.agent.get('/admin/partners').expect(403);
    const count = (await ctx.db('disclosures').count({ n: '*' }))[0]!.n;
    for (const who of [auditor, support]) {
      const _csrf = await csrfFrom(who.agent, '/admin/password');
      for (const path of [`/admin/partners/${partnerId}/disclosures`, `/admin/partners/${partnerId}/legal-disclosures`])
        await who.agent
          .post(path)
          .type('form')
          .send({ _csrf, purpose: 'x', member_ids: m.alice, legal_purpose: 'x', legal_reference: 'y' })
          .expect(403);
      await who.agent.post('/admin/partners').type('form').send({ _csrf, name: 'Sneaky' }).expect(403);
    }
    expect((await ctx.db('disclosures').count({ n: '*' }))[0]!.n).toBe(count);
  });

  it('never answers 500 to a bad id or a bad form', async () => {
    for (const path of [
      '/admin/partners/:id',
      '/admin/partners/abc',
      '/admin/partners/0',
      '/admin/partners/99999999999',
      '/admin/partners/424242',
    ])
      await admin.agent.get(path).expect(404);
    const _csrf = await csrfFrom(admin.agent, '/admin/partners/new');
    for (const path of [
      '/admin/partners/:id',
      '/admin/partners/:id/disclosures',
      '/admin/partners/x1/legal-disclosures',
      '/admin/partners/424242/disclosures',
    ])
      await admin.agent.post(path).type('form').send({ _csrf, purpose: 'x' }).expect(404);
    await admin.agent.post(`/admin/partners/${partnerId}/disclosures`).type('form').send({ _csrf }).expect(422);
    await admin.agent.post(`/admin/partners/${partnerId}/legal-disclosures`).type('form').send({ _csrf }).expect(422);
    await admin.agent.post(`/admin/partners/${partnerId}`).type('form').send({ _csrf, terms_date: 'soon' }).expect(422);
  });
});
