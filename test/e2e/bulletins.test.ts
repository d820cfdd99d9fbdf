import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Links } from '../../src/shared/links.js';
import { suppressAddress, suppressionKeys } from '../../src/shared/suppression.js';
import { runSnapshotBatch } from '../../src/bulletins/sending.service.js';
import { makeServiceContext } from '../../src/context.js';
import { setPreferences } from '../../src/consent/consent.service.js';
import { TEST_SECRET, startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { csrfFrom } from '../helpers/session.js';
import type { CaughtMessage } from '../helpers/smtp.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/**
 * An editor writes a bulletin for one topic, previews it, sends themselves a test, is shown the
 * audience and confirms in a second step; exactly the members opted in with a deliverable address
 * get it, each with their own unsubscribe for that topic (C3, C4, C11, C12, C14).
 */
const BASE = 'https://assent.test';
let ctx: TestContext;
let editor: { id: string; agent: Agent };
let digest: number;
let news: number;
let offers: number;
let policyId: number;
const m: Record<string, string> = {};
const links = new Links(BASE, [TEST_SECRET]);
let bulletinId: number;

const BODY = [
  '## This month',
  '',
  'Read **the report** at [our site](https://example.org/report?id=42) or the long one:',
  'https://example.org/a/very/long/path/that/keeps/going/and/going/without/any/break/at/all/0123456789abcdefghijklmnopqrstuvwxyz',
  '',
  '![a chart](https://images.example.org/chart.png)',
  '',
  '<script>alert(1)</script> <b>raw</b>',
].join('\n');

beforeAll(async () => {
  ctx = await startTestContext({ BASE_URL: BASE, ORG_ADDRESS: '1 Society Street, Exampletown EX1 2AB', SEND_RATE_PER_SECOND: '1000' });
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  digest = await insertTopic(ctx.db, { slug: 'research-digest', kind: 'newsletter', policyId });
  await ctx.db('topics').where({ id: digest }).update({ name: 'Research digest', frequency: 'Monthly' });
  news = await insertTopic(ctx.db, { slug: 'news', kind: 'announcement', policyId });
  offers = await insertTopic(ctx.db, { slug: 'sharing', kind: 'partner_data_sharing', policyId });
  const optIn = (member: string, topicId: number) =>
    recordConsent(ctx.db, { memberId: member, topicId, policyId, to: 'opted_in', source: 'signup' });
  for (const name of ['ada', 'bob', 'carol', 'eve', 'fay', 'gus'])
    m[name] = await insertMember(ctx.db, `${name}@example.org`, name.toUpperCase());
  for (const name of ['ada', 'bob', 'eve', 'fay', 'gus']) await optIn(m[name]!, digest);
  await optIn(m.ada!, news);
  await recordConsent(ctx.db, { memberId: m.carol!, topicId: digest, policyId, to: 'opted_out', source: 'member_web' });
  // Unconfirmed: signed up, never confirmed.
  const [dan] = await ctx.db('members').insert({ email: 'dan@example.org', name: 'DAN', status: 'pending' }).returning('id');
  m.dan = (dan as { id: string }).id;
  await optIn(m.dan, digest);
  await suppressAddress(ctx.db, 'eve@example.org', suppressionKeys([TEST_SECRET]));
  await ctx.db('members').where({ id: m.fay }).update({ email_undeliverable_at: ctx.db.fn.now() });
  editor = await signedInStaff(ctx, 'editor@example.org', 'editor');
});
afterAll(() => ctx.close());

const bulletinMails = (to?: string) =>
  ctx.smtp.messages.filter((x) => (x.parsed.subject ?? '') === 'Digest for March' && (!to || x.envelopeTo.includes(to)));
const header = (msg: CaughtMessage, name: string) => msg.parsed.headers.find((h) => h.key === name.toLowerCase())?.value;

describe('composing, previewing and testing a bulletin', () => {
  it('C11: an editor writes a draft for a topic; partner data sharing is refused, in the form and by the database', async () => {
    const _csrf = await csrfFrom(editor.agent, '/admin/bulletins/new');
    const form = {
      _csrf,
      topic_id: String(digest),
      subject: 'Digest for March',
      preheader: 'What we read this month',
      body: BODY,
      web_version: 'yes',
    };
    const refused = await editor.agent
      .post('/admin/bulletins')
      .type('form')
      .send({ ...form, topic_id: String(offers) })
      .expect(422);
    expect(refused.text).toContain('Choose a current e-mail topic');
    await expect(ctx.db('bulletins').insert({ topic_id: offers, subject: 'x', body: 'x', created_by: editor.id })).rejects.toThrow(
      /newsletter, announcement or third-party offer/,
    );
    const created = await editor.agent
      .post('/admin/bulletins')
      .type('form')
      .send({ ...form, subject: 'Draft one' })
      .expect(303);
    bulletinId = Number(/\/admin\/bulletins\/(\d+)/.exec(created.headers.location as string)![1]);
    await editor.agent.post(`/admin/bulletins/${bulletinId}`).type('form').send(form).expect(303);
    expect(await ctx.db('bulletins').where({ id: bulletinId }).first()).toMatchObject({ subject: 'Digest for March', status: 'draft' });
    // A draft can be deleted.
    const other = await editor.agent
      .post('/admin/bulletins')
      .type('form')
      .send({ ...form, subject: 'Throw away' });
    const otherId = Number(/(\d+)/.exec(other.headers.location as string)![1]);
    await editor.agent.post(`/admin/bulletins/${otherId}/delete`).type('form').send({ _csrf }).expect(303);
    expect(await ctx.db('bulletins').where({ id: otherId }).first()).toBeUndefined();
    expect((await ctx.db('audit_log').where({ staff_user_id: editor.id }).pluck('action')).sort()).toEqual(
      expect.arrayContaining(['bulletin.created', 'bulletin.updated', 'bulletin.deleted']),
    );
  });

  it('C11: an editor opens no member record: 403 on the members list, a record and its export', async () => {
    await editor.agent.get('/admin/members').expect(403);
    await editor.agent.get(`/admin/members/${m.ada}`).expect(403);
    await editor.agent.get(`/admin/members/${m.ada}/export`).expect(403);
    await editor.agent.get('/admin/removals').expect(403);
    await editor.agent.get('/admin/outbox').expect(403);
    expect(await ctx.db('audit_log').where({ staff_user_id: editor.id, action: 'member.viewed' })).toEqual([]);
  });

  it('the preview shows both parts as a member gets them: sanitised Markdown, sample name, working links, no tracking', async () => {
    const page = await editor.agent.get(`/admin/bulletins/${bulletinId}/preview`).expect(200);
    expect(page.text).toContain('Dear Alex Example,');
    expect(page.text).toContain('List-Unsubscribe-Post');
    const html = await editor.agent.get(`/admin/bulletins/${bulletinId}/preview/html`).expect(200);
    expect(html.headers['content-security-policy']).toContain("default-src 'none'");
    expect(html.text).toContain('<h2>This month</h2>');
    expect(html.text).toContain('<a href="https://example.org/report?id=42">our site</a>');
    // Raw HTML is shown as text, never run; the image is a link (a remote image would report opens).
    expect(html.text).not.toMatch(/<script|<b>raw/);
    expect(html.text).toContain('&lt;script&gt;');
    expect(html.text).not.toMatch(/<img/i);
    expect(html.text).toContain('<a href="https://images.example.org/chart.png">a chart</a>');
    expect(html.text).toContain('Test Society');
    expect(html.text).toContain('1 Society Street, Exampletown EX1 2AB');
    // The sample's footer links open a page that says what a member's link does.
    for (const path of ['/bulletin-preview/unsubscribe', '/bulletin-preview/preferences']) {
      expect(html.text).toContain(`${BASE}${path}`);
      expect((await request(ctx.http).get(path).expect(200)).text).toContain('Nothing was changed.');
    }
  });

  it('"send me a test" mails the editor, marked as a test, and no member', async () => {
    await ctx.startWorker();
    const _csrf = await csrfFrom(editor.agent, `/admin/bulletins/${bulletinId}`);
    await editor.agent.post(`/admin/bulletins/${bulletinId}/test`).type('form').send({ _csrf }).expect(303);
    const test = await ctx.smtp.waitFor((x) => x.envelopeTo.includes('editor@example.org'));
    expect(test.parsed.subject).toBe('[Test] Digest for March');
    expect(test.parsed.text).toContain('[TEST MESSAGE');
    expect(test.parsed.text).toContain('Dear Alex Example,');
    expect(header(test, 'List-Unsubscribe')).toBeUndefined();
    expect(ctx.smtp.messages.filter((x) => x.envelopeTo.some((to) => to.endsWith('@example.org') && to !== 'editor@example.org'))).toEqual(
      [],
    );
    await ctx.stopWorker();
  });
});

describe('sending to the topic', () => {
  it('C12: the send page states the audience, and sending needs a second, explicit confirmation', async () => {
    const send = await editor.agent.get(`/admin/bulletins/${bulletinId}/send`).expect(200);
    // ada, bob and gus: active, confirmed, opted in, deliverable, not suppressed.
    expect(send.text).toMatch(/This goes to <strong>3 members<\/strong>/);
    const confirm = await editor.agent.get(`/admin/bulletins/${bulletinId}/confirm?when=now`).expect(200);
    expect(confirm.text).toContain('Send to 3 members now');
    expect(await ctx.db('bulletins').where({ id: bulletinId }).first('status')).toEqual({ status: 'draft' });
    const _csrf = /name="_csrf" value="([^"]+)"/.exec(confirm.text)![1];
    const unticked = await editor.agent
      .post(`/admin/bulletins/${bulletinId}/confirm`)
      .type('form')
      .send({ _csrf, when: 'now', audience: '3' });
    expect(unticked.status).toBe(422);
    expect(unticked.text).toContain('Tick the box');
    expect(await ctx.db('bulletins').where({ id: bulletinId }).first('status')).toEqual({ status: 'draft' });
    await editor.agent
      .post(`/admin/bulletins/${bulletinId}/confirm`)
      .type('form')
      .send({ _csrf, when: 'now', audience: '3', confirm: 'yes' })
      .expect(303);
    expect(await ctx.db('bulletins').where({ id: bulletinId }).first()).toMatchObject({ status: 'sending', audience_confirmed: 3 });
    expect(await ctx.db('audit_log').where({ staff_user_id: editor.id, action: 'bulletin.sent' }).first()).toBeDefined();
  });

  it('C3: the snapshot takes who is opted in now; gus opts out after it and before his send, and is left out and counted', async () => {
    const svc = makeServiceContext(ctx.config, ctx.db);
    await runSnapshotBatch(svc, { bulletinId, after: null });
    const rows = await ctx.db('bulletin_recipients').where({ bulletin_id: bulletinId }).select('member_id', 'left_out_reason');
    expect(new Map(rows.map((r) => [r.member_id, r.left_out_reason]))).toEqual(
      new Map([
        [m.ada, null],
        [m.bob, null],
        [m.gus, null],
        [m.eve, 'suppressed'],
        [m.fay, 'undeliverable'],
      ]),
    );
    await setPreferences(svc, { memberId: m.gus!, optedIn: [], source: 'member_web', channel: 'web' });
    await ctx.startWorker();
    await waitFor(
      async () => (await ctx.db('bulletins').where({ id: bulletinId }).first('status')).status === 'sent',
      'the bulletin to be sent',
    );
    expect(
      bulletinMails()
        .flatMap((x) => x.envelopeTo)
        .sort(),
    ).toEqual(['ada@example.org', 'bob@example.org']);
    const gus = await ctx.db('email_messages').where({ member_id: m.gus, kind: 'bulletin' }).first();
    expect(gus).toMatchObject({ status: 'cancelled', cancel_reason: 'opted_out' });
  });

  it('C4: each copy carries the one-click headers, a topic-scoped signed link naming the bulletin, List-Id and a fixed Message-ID', async () => {
    for (const name of ['ada', 'bob'] as const) {
      const [msg] = bulletinMails(`${name}@example.org`);
      expect(msg).toBeDefined();
      const list = header(msg!, 'List-Unsubscribe')!;
      const [https, mailto] = /^<([^>]+)>, <([^>]+)>$/.exec(list)!.slice(1);
      expect(https).toMatch(new RegExp(`^${BASE}/unsubscribe/`));
      const token = https!.split('/').pop()!;
      expect(links.signer.verify(token, 'unsubscribe')).toEqual({ p: 'unsubscribe', m: m[name], s: String(digest), b: bulletinId });
      expect(mailto).toBe(`mailto:privacy@assent.test?subject=${encodeURIComponent(`unsubscribe ${token}`)}`);
      expect(header(msg!, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(header(msg!, 'List-Id')).toBe('"Research digest" <research-digest.assent.test>');
      expect(msg!.parsed.messageId).toBe(`<bulletin-${bulletinId}.${m[name]}@assent.test>`);
      const text = msg!.parsed.text!;
      expect(text).toContain(`Dear ${name.toUpperCase()},`);
      expect(text).toMatch(/You get this because you chose "Research digest" on \d{1,2} [A-Z][a-z]+ \d{4}\./);
      expect(text).toContain(`Unsubscribe from Research digest: ${https}`);
      expect(text).toMatch(new RegExp(`Manage your choices \\(what we send you, your details, your data\\): ${BASE}/p/\\S+`));
      expect(text).toContain(`View in your browser: ${BASE}/bulletins/research-digest/${bulletinId}`);
      expect(text).toContain('Test Society, 1 Society Street, Exampletown EX1 2AB');
      const html = msg!.parsed.html!;
      expect(html).toContain(`Unsubscribe from Research digest</a>`);
      // No tracking: no image at all, and every link goes where it says (the body's, or our own pages).
      expect(html).not.toMatch(/<img/i);
      const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((x) => x[1]!.replace(/&amp;/g, '&'));
      for (const href of hrefs)
        expect([
          href,
          /^(https:\/\/example\.org\/|https:\/\/images\.example\.org\/|https:\/\/assent\.test\/(unsubscribe|p|bulletins)\/|mailto:privacy@assent\.test$)/.test(
            href,
          ),
        ]).toEqual([href, true]);
      expect(hrefs).toContain('https://example.org/report?id=42');
    }
  });

  it('C4, C14: one-click from the bulletin opts ada out of that topic only, confirms by e-mail, and is counted on the progress page', async () => {
    const [msg] = bulletinMails('ada@example.org');
    const url = new URL(/^<([^>]+)>/.exec(header(msg!, 'List-Unsubscribe')!)![1]!);
    await request(ctx.http).post(url.pathname).type('form').send('List-Unsubscribe=One-Click').expect(200);
    const status = async (topicId: number) =>
      (await ctx.db('consents').where({ member_id: m.ada, topic_id: topicId }).first('status'))?.status;
    expect(await status(digest)).toBe('opted_out');
    expect(await status(news)).toBe('opted_in');
    expect(await ctx.db('consent_ledger').where({ member_id: m.ada, topic_id: digest }).orderBy('id', 'desc').first()).toMatchObject({
      source: 'one_click',
      to_status: 'opted_out',
      via_bulletin_id: bulletinId,
    });
    const confirmation = await ctx.smtp.waitFor(
      (x) => x.envelopeTo.includes('ada@example.org') && /preferences have changed/.test(x.parsed.subject ?? ''),
    );
    expect(confirmation.parsed.text).toContain('Research digest: now not subscribed');
    expect(confirmation.parsed.text).not.toContain('news: now');

    const page = await editor.agent.get(`/admin/bulletins/${bulletinId}`).expect(200);
    const cell = (id: string) => new RegExp(`id="progress-${id}">([\\d,]+)<`).exec(page.text)?.[1];
    expect({
      recipients: cell('recipients'),
      sent: cell('sent'),
      failed: cell('failed'),
      optedOut: cell('opted-out'),
      suppressed: cell('suppressed'),
      undeliverable: cell('undeliverable'),
      unsubscribed: cell('unsubscribed'),
    }).toEqual({ recipients: '5', sent: '2', failed: '0', optedOut: '1', suppressed: '1', undeliverable: '1', unsubscribed: '1' });
    expect(page.text).toMatch(/Figures as of \d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC/);
    // Every copy handled: a full progress bar.
    expect(page.text).toContain('<progress id="bulletin-progress" max="5" value="5">100%</progress>');
    expect(page.text).toMatch(/5<\/strong> of 5 \(100%\), finished\./);
  });

  it('a sent bulletin is frozen: no edit, no delete, in the app and in the database', async () => {
    const _csrf = await csrfFrom(editor.agent, `/admin/bulletins/${bulletinId}`);
    await editor.agent.get(`/admin/bulletins/${bulletinId}/edit`).expect(409);
    await editor.agent
      .post(`/admin/bulletins/${bulletinId}`)
      .type('form')
      .send({ _csrf, topic_id: String(digest), subject: 'x', body: 'x' })
      .expect(409);
    await editor.agent.post(`/admin/bulletins/${bulletinId}/delete`).type('form').send({ _csrf }).expect(409);
    await expect(ctx.db('bulletins').where({ id: bulletinId }).update({ subject: 'changed' })).rejects.toThrow(/frozen/);
    await expect(ctx.db('bulletins').where({ id: bulletinId }).delete()).rejects.toThrow(/only a draft/);
  });

  it('the public archive lists the web version, which holds no personal data; the preference page shows frequency, last issue and archive', async () => {
    const archive = await request(ctx.http).get('/bulletins/research-digest').expect(200);
    expect(archive.text).toContain(`/bulletins/research-digest/${bulletinId}`);
    const web = await request(ctx.http).get(`/bulletins/research-digest/${bulletinId}`).expect(200);
    expect(web.text).toContain('<h2>This month</h2>');
    for (const personal of ['ADA', 'BOB', 'Dear ', '/unsubscribe/', '/p/']) expect(web.text).not.toContain(personal);
    await request(ctx.http).get('/bulletins/news').expect(404);
    await request(ctx.http).get(`/bulletins/news/${bulletinId}`).expect(404);
    const prefs = await request(ctx.http)
      .get(new URL(links.manage(m.bob!)).pathname)
      .expect(200);
    expect(prefs.text).toMatch(
      /By e-mail, monthly\. Last sent \d{1,2} [A-Z][a-z]+ \d{4}\. <a href="\/bulletins\/research-digest">Past issues of Research digest<\/a>/,
    );
  });
});
