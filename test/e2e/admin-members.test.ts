import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { axeViolations, launchBrowser, serve } from '../helpers/browser.js';
import { insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { csrfFrom } from '../helpers/session.js';
import { createStaff, signedInStaff, signInStaffInBrowser, type Agent } from '../helpers/staff.js';

let ctx: TestContext;
let policyId: number;
let news: number;
let announce: number;
let sharing: number;
const staff = {} as Record<'admin' | 'support' | 'auditor', { id: string; agent: Agent }>;

beforeAll(async () => {
  ctx = await startTestContext();
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  news = await insertTopic(ctx.db, { slug: 'newsletter', kind: 'newsletter', policyId });
  announce = await insertTopic(ctx.db, { slug: 'announcements', kind: 'announcement', policyId });
  sharing = await insertTopic(ctx.db, { slug: 'share-acme', kind: 'partner_data_sharing', policyId, partner: 'Acme Ltd' });
  await ctx.db('topics').where({ id: news }).update({ name: 'Monthly newsletter' });
  staff.admin = await signedInStaff(ctx, 'members-admin@example.org', 'admin');
  staff.support = await signedInStaff(ctx, 'members-support@example.org', 'support');
  staff.auditor = await signedInStaff(ctx, 'members-auditor@example.org', 'auditor');
}, 60000);
afterAll(() => ctx.close());

const memberLinks = (html: string) => [...html.matchAll(/href="\/admin\/members\/([0-9a-f-]{36})"/g)].map((m) => m[1]);

async function auditFor(action: string, memberId?: string) {
  const q = ctx.db('audit_log').where({ action }).orderBy('id');
  if (memberId) q.where({ member_id: memberId });
  return q.select('staff_user_id', 'member_id', 'details', 'created_at');
}

async function postChange(agent: Agent, memberId: string, form: Record<string, unknown>) {
  const _csrf = await csrfFrom(agent, '/admin/password');
  return agent
    .post(`/admin/members/${memberId}/change`)
    .type('form')
    .send({ _csrf, ...form });
}

async function memberState(memberId: string) {
  const [ledger, notes, mails, audits] = await Promise.all([
    ctx.db('consent_ledger').where({ member_id: memberId }).orderBy('id'),
    ctx.db('staff_change_notes').where({ member_id: memberId }).orderBy('created_at'),
    ctx.db('email_messages').where({ member_id: memberId }),
    ctx.db('audit_log').where({ member_id: memberId, action: 'member.changed_on_behalf' }),
  ]);
  return { ledger, notes, mails, audits };
}

describe('staff search for members', () => {
  it('C11: search is case-insensitive, paginates 25 a page, and writes member.searched with the count but never the text', async () => {
    for (let i = 1; i <= 30; i++) await insertMember(ctx.db, `paged-${String(i).padStart(2, '0')}@example.org`, `Paged Person ${i}`);
    await insertMember(ctx.db, 'someone-else@example.org', 'Other Person');
    const before = (await auditFor('member.searched')).length;

    const first = await staff.support.agent.get('/admin/members?q=%20PAGED-%20').expect(200);
    expect(memberLinks(first.text)).toHaveLength(25);
    expect(first.text).toContain('paged-30@example.org');
    expect(first.text).not.toContain('someone-else@example.org');
    expect(first.text).toContain('href="/admin/members?page=2&amp;q=PAGED-"');
    expect(first.text).not.toContain('rel="prev"');

    const second = await staff.support.agent.get('/admin/members?q=PAGED-&page=2').expect(200);
    expect(memberLinks(second.text)).toHaveLength(5);
    expect(second.text).toContain('paged-01@example.org');
    expect(second.text).toContain('rel="prev"');
    expect(second.text).not.toContain('rel="next"');
    expect(new Set([...memberLinks(first.text), ...memberLinks(second.text)]).size).toBe(30);

    const byName = await staff.auditor.agent.get('/admin/members?q=other%20person').expect(200);
    expect(memberLinks(byName.text)).toHaveLength(1);
    const wildcard = await staff.auditor.agent.get('/admin/members?q=%25').expect(200);
    expect(memberLinks(wildcard.text)).toHaveLength(0);

    const entries = (await auditFor('member.searched')).slice(before);
    expect(entries.map((e) => e.details)).toEqual([{ results: 25 }, { results: 5 }, { results: 1 }, { results: 0 }]);
    expect(entries.map((e) => e.staff_user_id)).toEqual([staff.support.id, staff.support.id, staff.auditor.id, staff.auditor.id]);
    expect(JSON.stringify(entries).toLowerCase()).not.toMatch(/paged|other person|%/);
  });

  it('an empty search lists the newest members first; an erased member shows as erased with no data', async () => {
    await ctx.db('members').insert({ status: 'erased', erased_at: ctx.db.fn.now() });
    const res = await staff.auditor.agent.get('/admin/members').expect(200);
    expect(memberLinks(res.text)).toHaveLength(25);
    const firstRow = res.text.slice(res.text.indexOf('<tbody>'), res.text.indexOf('</tr>', res.text.indexOf('<tbody>')));
    expect(firstRow).toContain('Erased member');
    expect(firstRow).toContain('<td>Erased</td>');
    expect(firstRow).not.toContain('@');
  });

  it('an over-long search is a field error, not a 500, and searches nothing', async () => {
    const before = (await auditFor('member.searched')).length;
    const res = await staff.auditor.agent.get(`/admin/members?q=${'x'.repeat(201)}`).expect(422);
    expect(res.text).toContain('Search text can be at most 200 characters.');
    expect(await auditFor('member.searched')).toHaveLength(before);
  });
});

describe('staff view and export of a member record', () => {
  it('C11: opening a record writes member.viewed and exporting writes member.exported (staff, member, time)', async () => {
    const memberId = await insertMember(ctx.db, 'viewed@example.org', 'Viola Viewed');
    await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
    const started = Date.now() - 1000;

    const page = await staff.auditor.agent.get(`/admin/members/${memberId}`).expect(200);
    expect(page.text).toContain('viewed@example.org');
    expect(page.text).toContain('Monthly newsletter');
    expect(page.text).toContain('Sign-up form');
    expect(page.text).not.toContain('Record a change');
    const viewed = await auditFor('member.viewed', memberId);
    expect(viewed).toHaveLength(1);
    expect(viewed[0].staff_user_id).toBe(staff.auditor.id);
    expect((viewed[0].created_at as Date).getTime()).toBeGreaterThanOrEqual(started);

    const file = await staff.auditor.agent.get(`/admin/members/${memberId}/export`).expect(200);
    expect(file.headers['content-type']).toMatch(/^application\/json/);
    expect(file.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="?member-${memberId}\\.json"?$`));
    const data = JSON.parse(file.text) as Record<string, unknown>;
    expect(data.details).toMatchObject({ memberReference: memberId, email: 'viewed@example.org', status: 'active' });
    expect(data.choiceHistory).toEqual([expect.objectContaining({ topic: 'Monthly newsletter', to: 'opted_in', source: 'signup' })]);
    expect(data).toHaveProperty('staffChangeNotes', []);
    expect(data).toHaveProperty('emailsSent');
    expect(data).toHaveProperty('disclosures');
    expect(data).toHaveProperty('removalRequests');
    const exported = await auditFor('member.exported', memberId);
    expect(exported).toHaveLength(1);
    expect(exported[0].staff_user_id).toBe(staff.auditor.id);
    expect(JSON.stringify([...viewed, ...exported].map((e) => e.details))).not.toMatch(/viewed@|Viola/);

    const support = await staff.support.agent.get(`/admin/members/${memberId}`).expect(200);
    expect(support.text).toContain(`href="/admin/members/${memberId}/change"`);
  });

  it('an unknown or malformed member id is a 404, never a 500', async () => {
    for (const path of [
      '/admin/members/:id',
      '/admin/members/not-a-uuid',
      '/admin/members/00000000-0000-4000-8000-000000000000',
      '/admin/members/:id/export',
      '/admin/members/00000000-0000-4000-8000-000000000000/export',
      '/admin/members/:id/change',
      '/admin/members/00000000-0000-4000-8000-000000000000/change',
    ])
      expect([path, (await staff.admin.agent.get(path)).status]).toEqual([path, 404]);
    const res = await postChange(staff.admin.agent, 'not-a-uuid', { channel: 'phone', note: 'x' });
    expect(res.status).toBe(404);
  });
});

describe('staff record a change on the member’s behalf', () => {
  it('C3: a change records ledger source staff with its channel, keeps the note outside the ledger, and an opt-out applies at once', async () => {
    const memberId = await insertMember(ctx.db, 'caller@example.org', 'Carla Caller');
    await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
    const form = await staff.support.agent.get(`/admin/members/${memberId}/change`).expect(200);
    expect(form.text).toMatch(new RegExp(`value="${news}"[^>]*checked`));
    expect(form.text).not.toMatch(new RegExp(`value="${announce}"[^>]*checked`));

    const note = 'Carla rang to stop the newsletter and asked for announcements instead.';
    const res = await postChange(staff.support.agent, memberId, {
      topics: [String(announce)],
      channel: 'phone',
      note,
      reference: 'Call ref 42',
    });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/admin/members/${memberId}?changed=2`);

    const consents = await ctx.db('consents').where({ member_id: memberId }).select('topic_id', 'status');
    expect(new Map(consents.map((c) => [c.topic_id, c.status]))).toEqual(
      new Map([
        [news, 'opted_out'],
        [announce, 'opted_in'],
      ]),
    );
    const { ledger, notes, audits } = await memberState(memberId);
    const staffEvents = ledger.filter((e) => e.source === 'staff');
    expect(staffEvents.map((e) => [e.topic_id, e.from_status, e.to_status, e.channel, e.request_reference])).toEqual(
      expect.arrayContaining([
        [news, 'opted_in', 'opted_out', 'phone', 'Call ref 42'],
        [announce, null, 'opted_in', 'phone', 'Call ref 42'],
      ]),
    );
    expect(staffEvents).toHaveLength(2);
    expect(JSON.stringify(ledger)).not.toContain('Carla rang');
    expect(notes).toEqual([
      expect.objectContaining({ staff_user_id: staff.support.id, channel: 'phone', note, request_reference: 'Call ref 42' }),
    ]);
    expect(audits).toHaveLength(1);
    expect(audits[0].staff_user_id).toBe(staff.support.id);
    expect(audits[0].details).toMatchObject({ channel: 'phone' });
    expect([...(audits[0].details as { topicIds: number[] }).topicIds].sort()).toEqual([news, announce].sort());
    expect(JSON.stringify(audits[0].details)).not.toContain('Carla');

    const page = await staff.support.agent.get(`/admin/members/${memberId}?changed=2`).expect(200);
    expect(page.text).toContain('The change is recorded (2 topics)');
    expect(page.text).toContain('Carla rang to stop the newsletter');
    expect(page.text).toContain('Staff support');
    const exported = JSON.parse((await staff.auditor.agent.get(`/admin/members/${memberId}/export`)).text) as {
      staffChangeNotes: { note: string; channel: string }[];
    };
    expect(exported.staffChangeNotes).toEqual([expect.objectContaining({ note, channel: 'phone', staff: 'Staff support' })]);
  });

  it('C14: the member is e-mailed a confirmation that lists the change and says staff made it at their request', async () => {
    const memberId = await insertMember(ctx.db, 'letter@example.org', 'Lena Letter');
    await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
    const res = await postChange(staff.admin.agent, memberId, { channel: 'post', note: 'Letter asking to stop the newsletter.' });
    expect(res.status).toBe(303);
    const { mails } = await memberState(memberId);
    expect(mails).toHaveLength(1);
    expect(mails[0].kind).toBe('preferences_changed');
    await ctx.startWorker();
    const mail = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('letter@example.org'), 15000);
    expect(mail.parsed.subject).toBe('Test Society: your communication preferences have changed');
    expect(mail.parsed.text).toContain('by our staff, at your request');
    expect(mail.parsed.text).toContain('Monthly newsletter: now not subscribed (before: subscribed)');
    expect(mail.parsed.text).not.toContain('Letter asking');
  }, 30000);

  it('when nothing changes it says so, and stores no note, no ledger event and no e-mail', async () => {
    const memberId = await insertMember(ctx.db, 'same@example.org', 'Sam Same');
    await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
    const res = await postChange(staff.support.agent, memberId, { topics: String(news), channel: 'email', note: 'Asked to keep things.' });
    expect(res.headers.location).toBe(`/admin/members/${memberId}?changed=0`);
    const { ledger, notes, mails, audits } = await memberState(memberId);
    expect([ledger.length, notes.length, mails.length, audits.length]).toEqual([1, 0, 0, 0]);
    const page = await staff.support.agent.get(`/admin/members/${memberId}?changed=0`).expect(200);
    expect(page.text).toContain('Nothing changed');
  });

  it('C1: an opt-in to partner data sharing without the member’s request as reference is refused field by field and stores nothing', async () => {
    const memberId = await insertMember(ctx.db, 'partner@example.org', 'Pat Partner');
    const note = 'Pat asked by e-mail to share with Acme.';
    const refused = await postChange(staff.support.agent, memberId, { topics: [String(sharing), String(news)], channel: 'email', note });
    expect(refused.status).toBe(422);
    expect(refused.text).toMatch(/id="reference-error"[^<]*<span[^>]*>Error:<\/span> An opt-in to a partner offer/);
    expect(refused.text).toContain(note);
    expect(refused.text).toMatch(new RegExp(`value="${sharing}"[^>]*checked`));
    expect(refused.text).toMatch(/value="email"[^>]*checked/);
    const nothing = await memberState(memberId);
    expect([nothing.ledger.length, nothing.notes.length, nothing.mails.length, nothing.audits.length]).toEqual([0, 0, 0, 0]);

    const blank = await postChange(staff.support.agent, memberId, { topics: String(sharing), channel: 'email', note, reference: '   ' });
    expect(blank.status).toBe(422);
    expect((await memberState(memberId)).ledger).toHaveLength(0);

    const ok = await postChange(staff.support.agent, memberId, {
      topics: String(sharing),
      channel: 'email',
      note,
      reference: 'E-mail "Please share my details with Acme", 20 Nov',
    });
    expect(ok.status).toBe(303);
    const { ledger, notes } = await memberState(memberId);
    expect(ledger).toEqual([
      expect.objectContaining({
        topic_id: sharing,
        to_status: 'opted_in',
        source: 'staff',
        channel: 'email',
        request_reference: 'E-mail "Please share my details with Acme", 20 Nov',
      }),
    ]);
    expect(notes).toHaveLength(1);
  });

  it('C11: an auditor can view a member but gets 403 on the change form and its POST', async () => {
    const memberId = await insertMember(ctx.db, 'audited@example.org');
    await staff.auditor.agent.get(`/admin/members/${memberId}`).expect(200);
    await staff.auditor.agent.get(`/admin/members/${memberId}/change`).expect(403);
    const res = await postChange(staff.auditor.agent, memberId, { topics: String(news), channel: 'phone', note: 'Auditor tries.' });
    expect(res.status).toBe(403);
    expect((await memberState(memberId)).ledger).toHaveLength(0);
  });

  it('bad input gives field errors with the input kept, never a 500, and stores nothing', async () => {
    const memberId = await insertMember(ctx.db, 'bad@example.org');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ topics: String(news), note: 'No channel given.' }, 'channel', 'Choose how the request reached us'],
      [{ topics: String(news), channel: 'fax', note: 'Fax is no channel.' }, 'channel', 'Choose how the request reached us'],
      [{ topics: String(news), channel: 'phone', note: '   ' }, 'note', 'Write a note about the request.'],
      [{ topics: String(news), channel: 'phone', note: 'n'.repeat(2001) }, 'note', 'The note can be at most 2000 characters.'],
      [{ topics: String(news), channel: 'phone', note: 'Ok.', reference: 'r'.repeat(201) }, 'reference', 'at most 200 characters'],
      [{ topics: '999999', channel: 'phone', note: 'Unknown topic.' }, 'topics', 'not a topic we offer'],
      [{ topics: 'abc', channel: 'phone', note: 'Not a number.' }, 'topics', 'not a topic we offer'],
    ];
    const pages: [Record<string, unknown>, string][] = [];
    for (const [form, field, message] of cases) {
      const res = await postChange(staff.support.agent, memberId, form);
      expect([field, res.status]).toEqual([field, 422]);
      expect(res.text).toContain(message);
      expect(res.text).toContain(`href="#${field}"`);
      pages.push([form, res.text]);
    }
    // A note that was typed (not blank, not the over-long one) comes back in the form.
    const typed = pages.filter(([form]) => typeof form.note === 'string' && form.note.trim() !== '' && form.note.length < 100);
    expect(typed.length).toBeGreaterThan(3);
    for (const [form, page] of typed) expect(page).toContain(String(form.note));
    const { ledger, notes, mails, audits } = await memberState(memberId);
    expect([ledger.length, notes.length, mails.length, audits.length]).toEqual([0, 0, 0, 0]);
  });

  it('a pending or erased member cannot be changed: a clear error page, nothing stored', async () => {
    const [pending] = await ctx.db('members').insert({ email: 'pending@example.org', status: 'pending' }).returning('id');
    const [erased] = await ctx.db('members').insert({ status: 'erased', erased_at: ctx.db.fn.now() }).returning('id');
    const pendingId = (pending as { id: string }).id;
    const erasedId = (erased as { id: string }).id;
    const p = await postChange(staff.admin.agent, pendingId, { topics: String(news), channel: 'phone', note: 'Pending.' });
    expect(p.status).toBe(409);
    expect(p.text).toContain('has not confirmed their sign-up');
    const e = await staff.admin.agent.get(`/admin/members/${erasedId}/change`);
    expect(e.status).toBe(409);
    expect(e.text).toContain('data was erased');
    const view = await staff.admin.agent.get(`/admin/members/${erasedId}`).expect(200);
    expect(view.text).toContain('No personal data is kept');
    expect(view.text).not.toContain(`/admin/members/${erasedId}/change`);
    expect((await memberState(pendingId)).ledger).toHaveLength(0);
  });
});

describe('the member screens in a real browser', () => {
  it('C3: support searches, opens a record and records a phone change through the forms alone; every screen passes axe-core WCAG 2.1 AA', async () => {
    const memberId = await insertMember(ctx.db, 'browser-member@example.org', 'Bruno Browser');
    await recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });
    await createStaff(ctx, 'browser-support@example.org', 'support');
    const site = await serve(ctx.app);
    const browser = await launchBrowser({ cookies: true });
    const violations: Record<string, string[]> = {};
    try {
      const page = await browser.context.newPage();
      await signInStaffInBrowser(ctx, page, site.url, 'browser-support@example.org');

      await page.goto(`${site.url}/admin/members`);
      await page.getByLabel('E-mail address or name contains').fill('BRUNO');
      await Promise.all([page.waitForURL(/q=BRUNO/), page.getByRole('button', { name: 'Search' }).click()]);
      violations.search = await axeViolations(page);
      await Promise.all([
        page.waitForURL(`${site.url}/admin/members/${memberId}`),
        page.getByRole('link', { name: 'Bruno Browser' }).click(),
      ]);
      violations.record = await axeViolations(page);
      await Promise.all([page.waitForURL(/\/change$/), page.getByRole('link', { name: 'Record a change' }).click()]);
      violations.change = await axeViolations(page);

      await page.getByLabel('Monthly newsletter').uncheck();
      await page.getByRole('button', { name: 'Record the change' }).click();
      await page.getByText('Choose how the request reached us').first().waitFor();
      violations.changeWithErrors = await axeViolations(page);
      expect(await page.getByLabel('Monthly newsletter').isChecked()).toBe(false);

      await page.getByLabel('Phone call').check();
      await page.getByLabel('Note').fill('Bruno phoned to stop the newsletter.');
      await Promise.all([page.waitForURL(/changed=1$/), page.getByRole('button', { name: 'Record the change' }).click()]);
      expect(await page.getByRole('status').textContent()).toContain('The change is recorded (1 topic)');
      violations.recorded = await axeViolations(page);
      expect(browser.errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
    } finally {
      await browser.close();
      await site.close();
    }
    expect(Object.entries(violations).filter(([, v]) => v.length > 0)).toEqual([]);
    const event = await ctx.db('consent_ledger').where({ member_id: memberId, source: 'staff' }).first();
    expect(event).toMatchObject({ topic_id: news, to_status: 'opted_out', channel: 'phone' });
  }, 60000);
});
