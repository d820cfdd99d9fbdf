import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { ensurePartner, insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { csrfFrom, signedInAgent } from '../helpers/session.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

const DAY = 24 * 60 * 60 * 1000;
let ctx: TestContext;
let admin: Agent;
let adminId: string;
let auditor: Agent;
let v1: number;
let partnerId: number;
let memberId: string;
let bulletin: number;

beforeAll(async () => {
  ctx = await startTestContext();
  v1 = await insertPolicy(ctx.db, { version: '1.0' });
  partnerId = await ensurePartner(ctx.db, 'Conference Partner Ltd');
  bulletin = await insertTopic(ctx.db, { slug: 'weekly-bulletin', kind: 'newsletter', policyId: v1 });
  await ctx.db('topics').where({ id: bulletin }).update({ name: 'Weekly Bulletin' });
  memberId = await insertMember(ctx.db, 'member@example.org', 'Mia Member');
  await recordConsent(ctx.db, { memberId, topicId: bulletin, policyId: v1, to: 'opted_in', source: 'signup' });
  ({ agent: admin, id: adminId } = await signedInStaff(ctx, 'admin@example.org', 'admin'));
  ({ agent: auditor } = await signedInStaff(ctx, 'auditor@example.org', 'auditor'));
});
afterAll(() => ctx.close());

async function postTopic(fields: Record<string, string>): Promise<request.Response> {
  const _csrf = await csrfFrom(admin, '/admin/topics/new');
  return admin
    .post('/admin/topics')
    .type('form')
    .send({ _csrf, channel: 'email', sort_order: '0', description: 'What it is.', ...fields });
}

const topicBySlug = (slug: string) => ctx.db('topics').where({ slug }).first();
const count = async (table: string, where: Record<string, unknown>) => Number((await ctx.db(table).where(where).count({ n: '*' }))[0]!.n);

describe('adding a topic', () => {
  it('C8: a new topic tied to a later version: nobody is opted in, it is not offered until the version is published, then members see it as new and unticked', async () => {
    const [draft] = await ctx
      .db('policy_versions')
      .insert({ version: '2.0', title: 'Privacy statement 2.0', body: 'New use.' })
      .returning('id');
    const v2 = (draft as { id: number }).id;
    const form = await admin.get('/admin/topics/new').expect(200);
    expect(form.text).toContain('2.0: Privacy statement 2.0 (draft)');
    expect(form.text).toContain('Conference Partner Ltd');

    const res = await postTopic({
      slug: 'partner-offers',
      name: 'Offers from our conference partner',
      kind: 'third_party_offer',
      partner_id: String(partnerId),
      policy_version_id: String(v2),
      sort_order: '5',
    });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/topics?created');
    const topic = await topicBySlug('partner-offers');
    expect(topic).toMatchObject({
      kind: 'third_party_offer',
      partner_id: partnerId,
      introduced_in_policy_version_id: v2,
      default_opt_in: false,
      sort_order: 5,
    });
    expect(await count('consents', { topic_id: topic.id })).toBe(0);
    expect(await count('consent_ledger', { topic_id: topic.id })).toBe(0);
    const audit = await ctx.db('audit_log').where({ action: 'topic.created' }).first();
    expect(audit).toMatchObject({ staff_user_id: adminId, member_id: null });
    expect(audit.details).toMatchObject({ topicId: topic.id, kind: 'third_party_offer', policyVersionId: v2 });
    expect((await admin.get('/admin/topics').expect(200)).text).toContain('draft: not offered yet');

    // Tied to a draft: not offered on the join page nor the preference page.
    const member = await signedInAgent(ctx, memberId);
    expect((await request(ctx.http).get('/join').expect(200)).text).not.toContain('Offers from our conference partner');
    expect((await member.get('/preferences').expect(200)).text).not.toContain('Offers from our conference partner');

    const _csrf = await csrfFrom(admin, `/admin/policies/${v2}`);
    const effective = new Date(Date.now() + 8 * DAY).toISOString().slice(0, 16);
    await admin.post(`/admin/policies/${v2}/publish`).type('form').send({ _csrf, effective_at: effective, confirmed: 'yes' }).expect(303);

    const join = await request(ctx.http).get('/join').expect(200);
    expect(join.text).toContain('Offers from our conference partner');
    expect(join.text).not.toMatch(new RegExp(`value="${topic.id}"[^>]*checked`));
    const prefs = await member.get('/preferences').expect(200);
    expect(prefs.text).toMatch(/Offers from our conference partner <span class="badge">New<\/span>/);
    expect(prefs.text).toContain('This is a new use');
    expect(prefs.text).toMatch(new RegExp(`value="${topic.id}"[^>]*>`));
    expect(prefs.text).not.toMatch(new RegExp(`value="${topic.id}"[^>]*checked`));
    expect(prefs.text).toMatch(new RegExp(`value="${bulletin}"[^>]*checked`));
    expect(await count('consents', { topic_id: topic.id })).toBe(0);
  });

  it('C1: no topic can be made pre-ticked: the form has no such option, a forged field is ignored, and the database refuses it', async () => {
    const form = await admin.get('/admin/topics/new').expect(200);
    expect(form.text).not.toContain('default_opt_in');
    expect(form.text).toContain('it is never pre-ticked on any form');

    const noPartner = await postTopic({ slug: 'sharing', name: 'Sharing', kind: 'partner_data_sharing', policy_version_id: String(v1) });
    expect(noPartner.status).toBe(422);
    expect(noPartner.text).toContain('Choose the partner');
    const partnerOnNewsletter = await postTopic({
      slug: 'news-partner',
      name: 'News',
      kind: 'newsletter',
      partner_id: String(partnerId),
      policy_version_id: String(v1),
    });
    expect(partnerOnNewsletter.status).toBe(422);
    expect(partnerOnNewsletter.text).toContain('Only third-party offers and partner data sharing name a partner');
    expect(await count('topics', { slug: 'sharing' })).toBe(0);

    await expect(
      ctx.db('topics').insert({
        slug: 'sql-ticked',
        name: 'SQL ticked',
        kind: 'partner_data_sharing',
        partner_id: partnerId,
        default_opt_in: true,
        introduced_in_policy_version_id: v1,
      }),
    ).rejects.toMatchObject({ constraint: 'topics_never_pre_ticked' });
    await expect(ctx.db('topics').where({ slug: 'partner-offers' }).update({ default_opt_in: true })).rejects.toMatchObject({
      constraint: 'topics_never_pre_ticked',
    });

    // A newsletter sent with a forged "pre-ticked" field is added unticked, and nobody is opted in by adding it.
    const news = await postTopic({
      slug: 'digest',
      name: 'Research digest',
      kind: 'newsletter',
      policy_version_id: String(v1),
      default_opt_in: 'yes',
    });
    expect(news.status).toBe(303);
    const digest = await topicBySlug('digest');
    expect(digest).toMatchObject({ default_opt_in: false, partner_id: null });
    expect((await request(ctx.http).get('/join').expect(200)).text).not.toMatch(/name="topics" value="\d+"[^>]*checked/);
    expect(await count('consents', { topic_id: digest.id })).toBe(0);
  });
});

describe('changing and retiring a topic', () => {
  it('an edit changes name, description, channel and sort order; kind, partner and policy version stay as created', async () => {
    const topic = await topicBySlug('partner-offers');
    const _csrf = await csrfFrom(admin, `/admin/topics/${topic.id}/edit`);
    const res = await admin
      .post(`/admin/topics/${topic.id}`)
      .type('form')
      .send({
        _csrf,
        name: 'Partner offers by post',
        description: 'Now by post.',
        channel: 'post',
        sort_order: '-2',
        kind: 'newsletter',
        partner_id: '',
        policy_version_id: String(v1),
        default_opt_in: 'yes',
      });
    expect(res.status).toBe(303);
    expect(await topicBySlug('partner-offers')).toMatchObject({
      name: 'Partner offers by post',
      description: 'Now by post.',
      channel: 'post',
      sort_order: -2,
      kind: 'third_party_offer',
      partner_id: partnerId,
      introduced_in_policy_version_id: topic.introduced_in_policy_version_id,
      default_opt_in: false,
    });
    const audit = await ctx.db('audit_log').where({ action: 'topic.updated' }).first();
    expect(audit.details).toMatchObject({ topicId: topic.id, changed: ['name', 'description', 'channel', 'sort_order'] });
  });

  it('C1: retiring removes the topic from the join and preference pages but keeps its ledger', async () => {
    const ledgerBefore = await count('consent_ledger', { topic_id: bulletin });
    expect(ledgerBefore).toBeGreaterThan(0);
    expect((await request(ctx.http).get('/join')).text).toContain('Weekly Bulletin');
    const _csrf = await csrfFrom(admin, '/admin/topics');
    // The first post only asks, naming how many members are opted in and that it can be brought back.
    const optedIn = await count('consents', { topic_id: bulletin, status: 'opted_in' });
    expect(optedIn).toBeGreaterThan(0);
    const ask = await admin.post(`/admin/topics/${bulletin}/retire`).type('form').send({ _csrf }).expect(200);
    expect(ask.text).toContain('Retire “Weekly Bulletin”?');
    expect(ask.text).toContain(`>Retire it for ${optedIn} member${optedIn === 1 ? '' : 's'}</button>`);
    expect(ask.text).toContain('You can bring it back later');
    expect((await ctx.db('topics').where({ id: bulletin }).first()).retired_at).toBeNull();
    const res = await admin.post(`/admin/topics/${bulletin}/retire`).type('form').send({ _csrf, confirmed: 'yes' });
    expect(res.status).toBe(303);
    expect((await ctx.db('topics').where({ id: bulletin }).first()).retired_at).not.toBeNull();

    expect((await request(ctx.http).get('/join').expect(200)).text).not.toContain('Weekly Bulletin');
    const member = await signedInAgent(ctx, memberId);
    expect((await member.get('/preferences').expect(200)).text).not.toContain('Weekly Bulletin');
    expect(await count('consent_ledger', { topic_id: bulletin })).toBe(ledgerBefore);
    expect(await ctx.db('consents').where({ member_id: memberId, topic_id: bulletin }).first()).toMatchObject({ status: 'opted_in' });

    const list = await admin.get('/admin/topics').expect(200);
    const retiredSection = list.text.slice(list.text.indexOf('<h2>Retired topics</h2>'));
    expect(retiredSection).toContain('Weekly Bulletin');
    await admin.post(`/admin/topics/${bulletin}/retire`).type('form').send({ _csrf, confirmed: 'yes' }).expect(303);
    expect(await count('audit_log', { action: 'topic.retired' })).toBe(1);
  });

  it('a retired topic can be brought back: offered again, those opted in before still opted in, nobody opted in by it', async () => {
    const _csrf = await csrfFrom(admin, '/admin/topics');
    const list = await admin.get('/admin/topics').expect(200);
    expect(list.text).toContain(`action="/admin/topics/${bulletin}/restore"`);
    const ledgerBefore = await count('consent_ledger', { topic_id: bulletin });
    await admin.post(`/admin/topics/${bulletin}/restore`).type('form').send({ _csrf }).expect(303);
    expect((await ctx.db('topics').where({ id: bulletin }).first()).retired_at).toBeNull();
    expect((await request(ctx.http).get('/join').expect(200)).text).toContain('Weekly Bulletin');
    const member = await signedInAgent(ctx, memberId);
    const prefs = await member.get('/preferences').expect(200);
    expect(prefs.text).toContain('Weekly Bulletin');
    expect(await ctx.db('consents').where({ member_id: memberId, topic_id: bulletin }).first()).toMatchObject({ status: 'opted_in' });
    expect(await count('consent_ledger', { topic_id: bulletin })).toBe(ledgerBefore);
    expect(await count('audit_log', { action: 'topic.restored' })).toBe(1);
    await auditor
      .post(`/admin/topics/${bulletin}/restore`)
      .type('form')
      .send({ _csrf: await csrfFrom(auditor, '/admin/password') })
      .expect(403);
    // Retire it again for the tests that follow.
    await admin.post(`/admin/topics/${bulletin}/retire`).type('form').send({ _csrf, confirmed: 'yes' }).expect(303);
  });
});

describe('who may do what, and bad input', () => {
  it('the auditor sees the list but gets 403 on every change', async () => {
    const list = await auditor.get('/admin/topics').expect(200);
    expect(list.text).toContain('Partner offers by post');
    expect(list.text).not.toContain('href="/admin/topics/new"');
    expect(list.text).not.toContain('/retire"');
    const _csrf = await csrfFrom(auditor, '/admin/password');
    const topic = await topicBySlug('digest');
    await auditor.get('/admin/topics/new').expect(403);
    await auditor.get(`/admin/topics/${topic.id}/edit`).expect(403);
    await auditor
      .post('/admin/topics')
      .type('form')
      .send({ _csrf, slug: 'auditor-topic', name: 'A', kind: 'newsletter', channel: 'email', policy_version_id: String(v1) })
      .expect(403);
    await auditor.post(`/admin/topics/${topic.id}`).type('form').send({ _csrf, name: 'Renamed', channel: 'email' }).expect(403);
    await auditor.post(`/admin/topics/${topic.id}/retire`).type('form').send({ _csrf }).expect(403);
    expect(await topicBySlug('digest')).toMatchObject({ name: 'Research digest', retired_at: null });
    expect(await topicBySlug('auditor-topic')).toBeUndefined();
  });

  it('never answers 500: malformed ids are 404, bad fields are 422 with a message', async () => {
    for (const path of ['/admin/topics/:id/edit', '/admin/topics/abc/edit', '/admin/topics/99999/edit', '/admin/topics/0/edit'])
      await admin.get(path).expect(404);
    const _csrf = await csrfFrom(admin, '/admin/topics/new');
    await admin.post('/admin/topics/:id').type('form').send({ _csrf, name: 'X', channel: 'email' }).expect(404);
    await admin.post('/admin/topics/:id/retire').type('form').send({ _csrf }).expect(404);
    await admin.post('/admin/topics/99999/retire').type('form').send({ _csrf }).expect(404);

    const base = { slug: 'fresh', name: 'Fresh', kind: 'newsletter', policy_version_id: String(v1) };
    const cases: [Record<string, string>, string][] = [
      [{}, 'Enter a short name'],
      [{ ...base, slug: 'digest' }, 'There is already a topic with this short name'],
      [{ ...base, slug: 'Not A Slug' }, 'Use lower-case letters'],
      [{ ...base, kind: 'spam' }, 'Choose the kind of topic'],
      [{ ...base, channel: 'pigeon' }, 'Choose how it reaches members'],
      [{ ...base, sort_order: 'first' }, 'Enter a whole number'],
      [{ ...base, policy_version_id: '999999' }, 'Choose one of the listed policy versions'],
      [{ ...base, policy_version_id: ':id' }, 'Choose the policy version'],
      [{ ...base, kind: 'third_party_offer', partner_id: '999999' }, 'Choose one of the listed partners'],
      [{ ...base, kind: 'third_party_offer', partner_id: 'abc' }, 'Choose one of the listed options'],
    ];
    for (const [fields, message] of cases) {
      const res = await postTopic(fields);
      expect([fields, res.status]).toEqual([fields, 422]);
      expect(res.text).toContain(message);
    }
    expect(await topicBySlug('fresh')).toBeUndefined();

    const digest = await topicBySlug('digest');
    const edit = await admin.post(`/admin/topics/${digest.id}`).type('form').send({ _csrf, name: '', channel: 'email' }).expect(422);
    expect(edit.text).toContain('Enter a name.');
  });
});
