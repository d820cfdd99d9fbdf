import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { publishPolicy } from '../../src/policies/versions.service.js';
import { runNoticeBatch } from '../../src/policies/notices.service.js';
import { makeServiceContext } from '../../src/context.js';
import { suppressAddress } from '../../src/shared/suppression.js';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy } from '../helpers/fixtures.js';
import { pendingJobs, waitFor } from '../helpers/jobs.js';
import { csrfFrom, linkIn, linkPost } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

const DAY = 24 * 60 * 60 * 1000;
let ctx: TestContext;
let admin: Agent;
let adminId: string;
let auditor: Agent;

beforeAll(async () => {
  // One attempt per message, so a refused delivery shows as failed at once on the progress page.
  ctx = await startTestContext({ MAIL_MAX_ATTEMPTS: '1' });
  await insertPolicy(ctx.db, { version: '1.0' });
  ({ agent: admin, id: adminId } = await signedInStaff(ctx, 'admin@example.org', 'admin'));
  ({ agent: auditor } = await signedInStaff(ctx, 'auditor@example.org', 'auditor'));
});
afterAll(() => ctx.close());

/** A datetime-local value (UTC) this far from now. */
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString().slice(0, 16);

async function createDraft(version: string, over: Record<string, string> = {}): Promise<number> {
  const _csrf = await csrfFrom(admin, '/admin/policies/new');
  const res = await admin
    .post('/admin/policies')
    .type('form')
    .send({
      _csrf,
      version,
      title: `Privacy statement ${version}`,
      summary: `What changes in ${version}.`,
      body: 'The policy text.',
      ...over,
    });
  expect(res.status).toBe(303);
  const id = Number(/^\/admin\/policies\/(\d+)\?saved$/.exec(res.headers.location as string)?.[1]);
  expect(id).toBeGreaterThan(0);
  return id;
}

/** Publishes through both steps: the form, then the confirmation page's button (a refusal stops at the first). */
async function publish(id: number, effective: string): Promise<request.Response> {
  const _csrf = await csrfFrom(admin, `/admin/policies/${id}`);
  const first = await admin.post(`/admin/policies/${id}/publish`).type('form').send({ _csrf, effective_at: effective });
  if (first.status !== 200) return first;
  expect(first.text).toContain('name="confirmed" value="yes"');
  return admin.post(`/admin/policies/${id}/publish`).type('form').send({ _csrf, effective_at: effective, confirmed: 'yes' });
}

const policyRow = (id: number) => ctx.db('policy_versions').where({ id }).first();
const runOf = (id: number) => ctx.db('policy_notice_runs').where({ policy_version_id: id }).first();

describe('drafting and publishing a policy version', () => {
  it('C7: the database itself refuses a publication with 6 days of notice', async () => {
    const [row] = await ctx.db('policy_versions').insert({ version: 'db-6', title: 'Six days', body: 'Text.' }).returning('id');
    const id = (row as { id: number }).id;
    await expect(
      ctx.db.raw(`UPDATE policy_versions SET published_at = now(), effective_at = now() + interval '6 days' WHERE id = ?`, [id]),
    ).rejects.toMatchObject({ constraint: 'policy_versions_seven_days_notice' });
    expect(await policyRow(id)).toMatchObject({ published_at: null, effective_at: null });
  });

  it('C7: the page refuses 6 days with a field error and publishes nothing; 7 days publishes and the home page shows the banner', async () => {
    const id = await createDraft('2.0');
    const preview = await admin.get(`/admin/policies/${id}`).expect(200);
    expect(preview.text).toContain('The policy text.');
    expect(preview.text).toContain('What changes in 2.0.');

    const refused = await publish(id, inFuture(6 * DAY));
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('at least 7 days after publication');
    expect(refused.text).toContain('id="effective_at-error"');
    expect(await policyRow(id)).toMatchObject({ published_at: null, effective_at: null });
    expect(await runOf(id)).toBeUndefined();
    expect(await pendingJobs(ctx.db, 'policy_notice_batch')).toEqual([]);
    expect((await request(ctx.http).get('/').expect(200)).text).not.toContain('Our privacy policy is changing');

    const effective = inFuture(7 * DAY + 5 * 60 * 1000);
    const ok = await publish(id, effective);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(`/admin/policies/${id}?published`);
    const row = await policyRow(id);
    expect(row.published_at).not.toBeNull();
    expect(row.effective_at.toISOString().slice(0, 16)).toBe(effective);
    expect(row.effective_at.getTime() - row.published_at.getTime()).toBeGreaterThanOrEqual(7 * DAY);

    const home = await request(ctx.http).get('/').expect(200);
    expect(home.text).toContain('Our privacy policy is changing');
    expect(home.text).toContain('Version 2.0 takes effect');
    const audit = await ctx.db('audit_log').where({ action: 'policy.published' }).first();
    expect(audit).toMatchObject({ staff_user_id: adminId });
    expect(audit.details).toMatchObject({ policyVersionId: id, version: '2.0' });

    // Nobody to notify yet: the run ends at once.
    await ctx.startWorker();
    await waitFor(async () => (await runOf(id))?.finished_at, 'the notice run to finish');
    await ctx.stopWorker();
  });

  it('C7: a published version cannot be edited through the pages, nor changed or deleted in the database', async () => {
    const published = (await ctx.db('policy_versions').where({ version: '2.0' }).first()) as { id: number; title: string };
    const edit = await admin.get(`/admin/policies/${published.id}/edit`);
    expect(edit.status).toBe(409);
    expect(edit.text).toContain('can no longer be changed');
    const _csrf = await csrfFrom(admin, '/admin/policies/new');
    const post = await admin
      .post(`/admin/policies/${published.id}`)
      .type('form')
      .send({ _csrf, version: '2.0', title: 'Quietly changed', body: 'Other text.' });
    expect(post.status).toBe(409);
    expect(await policyRow(published.id)).toMatchObject({ title: published.title, body: 'The policy text.' });
    const again = await publish(published.id, inFuture(30 * DAY));
    expect(again.status).toBe(409);

    await expect(ctx.db('policy_versions').where({ id: published.id }).update({ title: 'Changed in SQL' })).rejects.toThrow(
      /published and cannot be changed/,
    );
    await expect(ctx.db('policy_versions').where({ id: published.id }).delete()).rejects.toThrow(/published and cannot be deleted/);
  });

  it('a draft can be corrected until it is published; the changes are audited', async () => {
    const id = await createDraft('2.1-draft');
    const _csrf = await csrfFrom(admin, `/admin/policies/${id}/edit`);
    const res = await admin
      .post(`/admin/policies/${id}`)
      .type('form')
      .send({ _csrf, version: '2.1', title: 'Corrected title', summary: '', body: 'Corrected text.', introduces_new_use: 'yes' });
    expect(res.status).toBe(303);
    expect(await policyRow(id)).toMatchObject({ version: '2.1', title: 'Corrected title', introduces_new_use: true, published_at: null });
    const actions = (await ctx.db('audit_log').where({ staff_user_id: adminId }).select('action')).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['policy.created', 'policy.updated']));
  });
});

describe('the notice fan-out', () => {
  const deliverable: string[] = [];
  let leftOutEmails: string[];
  let versionId: number;

  it('C7: the notice reaches every deliverable member exactly once, even when the worker is stopped and restarted mid-fan-out', async () => {
    for (let i = 1; i <= 9; i++) deliverable.push(`member${i}@example.org`);
    const ids = new Map<string, string>();
    for (const email of deliverable) ids.set(email, await insertMember(ctx.db, email, `Member ${email.slice(0, 7)}`));
    const bounced = await insertMember(ctx.db, 'bounced@example.org');
    await ctx.db('members').where({ id: bounced }).update({ email_undeliverable_at: ctx.db.fn.now() });
    await insertMember(ctx.db, 'suppressed@example.org');
    await suppressAddress(ctx.db, 'suppressed@example.org', makeServiceContext(ctx.config, ctx.db).keys.suppression);
    await ctx.db('members').insert({ email: 'pending@example.org', status: 'pending' });
    await ctx.db('members').insert({ email: null, name: null, status: 'erased', erased_at: ctx.db.fn.now() });
    leftOutEmails = ['bounced@example.org', 'suppressed@example.org', 'pending@example.org'];

    versionId = await createDraft('3.0', { introduces_new_use: 'yes' });
    // Batches of two (the payload's override), so ten reachable members take five batches.
    await publishPolicy(makeServiceContext(ctx.config, ctx.db), adminId, versionId, new Date(Date.now() + 8 * DAY), { batchSize: 2 });
    const reachable = (
      await ctx
        .db('members')
        .where({ status: 'active' })
        .whereNotNull('email')
        .whereNull('email_undeliverable_at')
        .orderBy('id')
        .select('id')
    ).map((r: { id: string }) => r.id);
    expect(reachable).toHaveLength(10);

    // Hold the third batch: an uncommitted row for its first member makes its insert wait.
    const blocker = await ctx.db.transaction();
    await blocker('policy_notices').insert({ policy_version_id: versionId, member_id: reachable[4], left_out_reason: 'not_deliverable' });
    const notices = async () => Number((await ctx.db('policy_notices').where({ policy_version_id: versionId }).count({ n: '*' }))[0]!.n);
    await ctx.startWorker();
    await waitFor(
      async () => (await notices()) === 4 && (await pendingJobs(ctx.db, 'policy_notice_batch')).some((j) => j.locked_at),
      'two batches and the third running',
    );
    const stopping = ctx.stopWorker();
    await new Promise((r) => setTimeout(r, 300));
    await blocker.rollback();
    await stopping;

    const midway = await notices();
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(10);
    expect((await runOf(versionId)).finished_at).toBeNull();
    // The next batch waits in the queue. (The batch that was running may also still show as
    // locked: graphile-worker completes jobs without waiting, so a stop can cut that short; its
    // re-run after the lock expires finds every member already handled.)
    expect((await pendingJobs(ctx.db, 'policy_notice_batch')).filter((j) => !j.locked_at)).toHaveLength(1);

    await ctx.startWorker();
    await waitFor(async () => (await runOf(versionId))?.finished_at, 'the notice run to finish', 20000);
    const isNotice = (m: { parsed: { text?: string } }) => (m.parsed.text ?? '').includes('(version 3.0)');
    await waitFor(async () => ctx.smtp.messages.filter(isNotice).length >= 9, 'nine notices in the SMTP sink', 20000);
    await waitFor(
      async () => (await ctx.db('email_messages').where({ kind: 'policy_notice', status: 'queued' }).first()) === undefined,
      'the outbox to be empty',
    );

    const caught = ctx.smtp.messages.filter(isNotice);
    expect(caught.flatMap((m) => m.envelopeTo).sort()).toEqual([...deliverable].sort());
    for (const email of leftOutEmails) expect(ctx.smtp.messages.some((m) => m.envelopeTo.includes(email))).toBe(false);
    const rows = await ctx
      .db('policy_notices')
      .where({ policy_version_id: versionId })
      .select('member_id', 'email_message_id', 'left_out_reason');
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.left_out_reason === 'suppressed')).toHaveLength(1);
    const messages = await ctx
      .db('email_messages')
      .whereIn('id', rows.map((r) => r.email_message_id).filter(Boolean))
      .select('member_id', 'status');
    expect(messages.map((m) => m.member_id).sort()).toEqual([...ids.values()].sort());
    expect(messages.every((m) => m.status === 'sent')).toBe(true);

    // C8: the version brings a new use; the notice says nobody is opted in and links to the choice.
    const text = caught[0]!.parsed.text ?? '';
    expect(text).toContain('introduces a new use');
    expect(text).toContain('Nobody is opted in to it');
    expect(text).toMatch(/nothing changes for you:\s+http:\/\/assent\.test\/p\/\S+/);
    await ctx.stopWorker();
  }, 60000);

  it('C7: publishing asks first, naming how many members will be e-mailed and that it cannot be undone; the notice can go to me first', async () => {
    const id = await createDraft('3.9');
    const effective_at = inFuture(10 * DAY);
    const _csrf = await csrfFrom(admin, `/admin/policies/${id}`);
    const page = await admin.get(`/admin/policies/${id}`).expect(200);
    expect(page.text).toContain(`formaction="/admin/policies/${id}/test-notice"`);

    const reachable = Number(
      (
        (await ctx
          .db('members')
          .where({ status: 'active' })
          .whereNotNull('email')
          .whereNull('email_undeliverable_at')
          .count('* as n')
          .first()) as { n: string }
      ).n,
    );
    expect(reachable).toBeGreaterThan(1);
    const noticesToMembers = async () => (await ctx.db('email_messages').where({ kind: 'policy_notice' })).length;
    const noticesBefore = await noticesToMembers();
    const first = await admin.post(`/admin/policies/${id}/publish`).type('form').send({ _csrf, effective_at }).expect(200);
    expect(first.text).toContain('Publish policy version 3.9?');
    expect(first.text).toContain(`The notice is e-mailed to ${reachable} members`);
    expect(first.text).toContain(`>Publish and e-mail ${reachable} members</button>`);
    expect(first.text).toContain('This cannot be undone');
    expect(first.text).toContain(`name="effective_at" value="${effective_at}"`);
    expect(await policyRow(id)).toMatchObject({ published_at: null });
    expect(await runOf(id)).toBeUndefined();

    // The notice to me first: the draft's notice, marked as a test, to the staff user's own address only.
    await admin
      .post(`/admin/policies/${id}/test-notice`)
      .type('form')
      .send({ _csrf, effective_at })
      .expect(303)
      .expect('Location', `/admin/policies/${id}?test-sent`);
    const sentPage = await admin.get(`/admin/policies/${id}?test-sent`).expect(200);
    expect(sentPage.text).toContain('A test copy of the notice is on its way to admin@example.org');
    const tests = await ctx.db('email_messages').where({ kind: 'policy_notice_test' });
    expect(tests).toHaveLength(1);
    expect(tests[0]).toMatchObject({ member_id: null, recipient: 'admin@example.org', headers: {} });
    expect(tests[0].text_body).toContain('Dear Alex Example');
    await ctx.startWorker();
    const caught = await ctx.smtp.waitFor((m) => (m.parsed.subject ?? '').startsWith('[Test]'));
    await ctx.stopWorker();
    expect(caught.envelopeTo).toEqual(['admin@example.org']);
    expect(caught.parsed.headers.find((h) => h.key === 'list-unsubscribe')).toBeUndefined();
    expect(tests[0].subject).toMatch(/^\[Test\] Test Society: our privacy policy changes on/);
    expect(await noticesToMembers()).toBe(noticesBefore);
    expect(await policyRow(id)).toMatchObject({ published_at: null });
    expect(await ctx.db('audit_log').where({ action: 'policy.notice_test_sent' })).toHaveLength(1);
    // A published version cannot be tested any more; nor can an auditor send one.
    await auditor
      .post(`/admin/policies/${id}/test-notice`)
      .type('form')
      .send({ _csrf: await csrfFrom(auditor, '/admin/password'), effective_at })
      .expect(403);
  });

  it('C7: the progress page shows members to notify, notices queued, sent and failed', async () => {
    const id = await createDraft('4.0');
    const ok = await publish(id, inFuture(10 * DAY));
    expect(ok.status).toBe(303);
    const before = await auditor.get(`/admin/policies/${id}`).expect(200);
    expect(before.text).toContain('<td id="progress-members">10</td>');
    expect(before.text).toContain('<td id="progress-queued">0</td>');
    expect(before.text).toContain('Batches are still being handled');
    expect(before.text).toContain('<progress id="notice-progress" max="10" value="0">0%</progress>');
    expect(before.text).toMatch(/0<\/strong> of 10 \(0%\); not started yet\./);
    expect(before.text).not.toContain(`action="/admin/policies/${id}/publish"`);

    ctx.smtp.failNext(1);
    await ctx.startWorker();
    await waitFor(async () => (await runOf(id))?.finished_at, 'the notice run to finish', 20000);
    await waitFor(
      async () => (await ctx.db('email_messages').where({ kind: 'policy_notice', status: 'queued' }).first()) === undefined,
      'every notice to be sent or failed',
      20000,
    );
    const after = await auditor.get(`/admin/policies/${id}`).expect(200);
    expect(after.text).toContain('<td id="progress-queued">9</td>');
    expect(after.text).toContain('<td id="progress-sent">8</td>');
    expect(after.text).toContain('<td id="progress-failed">1</td>');
    expect(after.text).toContain('<td id="progress-waiting">0</td>');
    expect(after.text).toContain('<td id="progress-left-out">1</td>');
    expect(after.text).toContain('Every batch was handled');
    // 8 sent, 1 failed and 1 left out: all 10 handled.
    expect(after.text).toContain('<progress id="notice-progress" max="10" value="10">100%</progress>');
    expect(after.text).toMatch(/10<\/strong> of 10 \(100%\), finished\./);
    await ctx.stopWorker();
  }, 60000);
});

describe('joining during a notice period', () => {
  it('C7: someone who becomes a member after publication gets the notice of each upcoming version when they confirm, once', async () => {
    // A version whose fan-out has finished before the new member exists.
    const id = await createDraft('5.0');
    expect((await publish(id, inFuture(9 * DAY))).status).toBe(303);
    await ctx.startWorker();
    await waitFor(async () => (await runOf(id))?.finished_at, 'the notice run to finish', 20000);
    const upcoming = (await ctx.db('policy_versions').where('effective_at', '>', ctx.db.fn.now()).pluck('id')) as number[];
    expect(upcoming).toContain(id);
    await request(ctx.http)
      .post('/join')
      .type('form')
      .send({ name: 'Late Joiner', email: 'late@example.org', age_confirmed: 'yes' })
      .expect(200);
    const confirm = await ctx.smtp.waitFor((m) => m.envelopeTo.includes('late@example.org'));
    const path = linkIn(confirm.parsed.text ?? '', '/join/confirm/');
    await linkPost(request(ctx.http), path).expect(200);
    const member = (await ctx.db('members').where({ email: 'late@example.org' }).first('id')) as { id: string };

    const isNoticeTo = (m: { envelopeTo: string[]; parsed: { subject?: string } }) =>
      m.envelopeTo.includes('late@example.org') && (m.parsed.subject ?? '').includes('privacy policy changes');
    await waitFor(async () => ctx.smtp.messages.filter(isNoticeTo).length >= upcoming.length, 'a notice per upcoming version', 20000);
    const rows = await ctx.db('policy_notices').where({ member_id: member.id }).whereNotNull('email_message_id').pluck('policy_version_id');
    expect(rows.sort()).toEqual([...upcoming].sort());
    // A batch reaching the new member later (earlier versions' fan-outs included) finds the notice
    // already recorded and queues nothing more for them.
    const svc = makeServiceContext(ctx.config, ctx.db);
    for (const policyVersionId of upcoming) await runNoticeBatch(svc, { policyVersionId, after: null, batchSize: 1000 });
    const notices = await ctx.db('email_messages').where({ member_id: member.id, kind: 'policy_notice' }).count({ n: '*' });
    expect(notices).toEqual([{ n: upcoming.length }]);
    await ctx.stopWorker();
  }, 60000);
});

describe('who may do what, and bad input', () => {
  it('the auditor sees the list and the preview but gets 403 on every change', async () => {
    const list = await auditor.get('/admin/policies').expect(200);
    expect(list.text).toContain('2.0');
    expect(list.text).toContain('upcoming');
    expect(list.text).toContain('in force');
    expect(list.text).toContain('draft');
    const draft = (await ctx.db('policy_versions').where({ version: '2.1' }).first()) as { id: number };
    await auditor.get(`/admin/policies/${draft.id}`).expect(200);
    const _csrf = await csrfFrom(auditor, '/admin/password');
    await auditor.get('/admin/policies/new').expect(403);
    await auditor.get(`/admin/policies/${draft.id}/edit`).expect(403);
    await auditor.post('/admin/policies').type('form').send({ _csrf, version: '9.9', title: 'T', body: 'B' }).expect(403);
    await auditor.post(`/admin/policies/${draft.id}`).type('form').send({ _csrf, version: '2.1', title: 'T', body: 'B' }).expect(403);
    await auditor
      .post(`/admin/policies/${draft.id}/publish`)
      .type('form')
      .send({ _csrf, effective_at: inFuture(9 * DAY) })
      .expect(403);
    expect(await policyRow(draft.id)).toMatchObject({ published_at: null, title: 'Corrected title' });
    expect(await ctx.db('policy_versions').where({ version: '9.9' }).first()).toBeUndefined();
  });

  it('never answers 500: malformed ids are 404, bad fields are 422 with the input kept', async () => {
    for (const path of [
      '/admin/policies/:id',
      '/admin/policies/abc',
      '/admin/policies/99999',
      '/admin/policies/1e3',
      '/admin/policies/:id/edit',
    ])
      await admin.get(path).expect(404);
    const _csrf = await csrfFrom(admin, '/admin/policies/new');
    await admin
      .post('/admin/policies/:id/publish')
      .type('form')
      .send({ _csrf, effective_at: inFuture(9 * DAY) })
      .expect(404);
    await admin.post('/admin/policies/-1').type('form').send({ _csrf }).expect(404);

    const empty = await admin.post('/admin/policies').type('form').send({ _csrf }).expect(422);
    expect(empty.text).toContain('Enter a version label');
    const duplicate = await admin
      .post('/admin/policies')
      .type('form')
      .send({ _csrf, version: '2.0', title: 'Kept title', body: 'B' })
      .expect(422);
    expect(duplicate.text).toContain('There is already a version with this label');
    expect(duplicate.text).toContain('value="Kept title"');
    await admin
      .post('/admin/policies')
      .type('form')
      .send({ _csrf, version: 'x'.repeat(21), title: 'T', body: 'B' })
      .expect(422);
    await admin
      .post('/admin/policies')
      .type('form')
      .send(`_csrf=${encodeURIComponent(_csrf)}&version=5.0&title=T&body=a&body=b`)
      .expect(422);

    const draft = (await ctx.db('policy_versions').where({ version: '2.1' }).first()) as { id: number };
    for (const effective_at of ['tomorrow', '2031-02-30T10:00', '2031-01-01T25:00', ''])
      await admin.post(`/admin/policies/${draft.id}/publish`).type('form').send({ _csrf, effective_at }).expect(422);
    expect(await policyRow(draft.id)).toMatchObject({ published_at: null });
  });
});
