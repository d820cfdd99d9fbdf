import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Links } from '../../src/shared/links.js';
import { suppressAddress, suppressionKeys } from '../../src/shared/suppression.js';
import { TEST_SECRET, startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertOptedInMembers, insertPolicy, insertTopic, recordConsent, suppressLegacy } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/jobs.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

const OLD_KEY = 'an-older-secret-key-still-accepted-0123456789';
const BULK = 2500;

let ctx: TestContext;
let admin: { id: string; agent: Agent };
let news: number;
let retired: number;
const m: Record<string, string> = {};

beforeAll(async () => {
  // Two keys: the suppression list may hold hashes made under the older one (key rotation), and
  // hashes keyed with either master key itself, written before key separation.
  ctx = await startTestContext({ SECRET_KEYS: `${TEST_SECRET},${OLD_KEY}` });
  admin = await signedInStaff(ctx, 'audience-admin@example.org', 'admin');
  const policyId = await insertPolicy(ctx.db, { version: '1.0' });
  news = await insertTopic(ctx.db, { slug: 'news', kind: 'newsletter', policyId });
  const other = await insertTopic(ctx.db, { slug: 'events', kind: 'announcement', policyId });
  retired = await insertTopic(ctx.db, { slug: 'old-news', kind: 'newsletter', policyId });
  const optIn = (memberId: string, topicId = news) =>
    recordConsent(ctx.db, { memberId, topicId, policyId, to: 'opted_in', source: 'signup' });

  m.formula = await insertMember(ctx.db, 'formula@example.org', '@SUM(1+1)');
  await optIn(m.formula);
  m.mixed = await insertMember(ctx.db, 'Mixed.Case@Example.org', 'Mixed Case');
  await optIn(m.mixed);
  m.out = await insertMember(ctx.db, 'out@example.org', 'Opted Out');
  await optIn(m.out);
  await recordConsent(ctx.db, { memberId: m.out, topicId: news, policyId, to: 'opted_out', source: 'one_click', channel: 'email' });
  m.pending = await insertMember(ctx.db, 'pending@example.org', 'Not Confirmed');
  await optIn(m.pending);
  await ctx.db('members').where({ id: m.pending }).update({ status: 'pending', confirmed_at: null });
  m.bounced = await insertMember(ctx.db, 'bounced@example.org', 'Bounced');
  await optIn(m.bounced);
  await ctx.db('members').where({ id: m.bounced }).update({ email_undeliverable_at: ctx.db.fn.now() });
  m.suppressed = await insertMember(ctx.db, 'Sup.Pressed@Example.org', 'Suppressed New Key');
  await optIn(m.suppressed);
  await suppressAddress(ctx.db, ' sup.pressed@example.org', suppressionKeys(ctx.config.secretKeys));
  m.suppressedOld = await insertMember(ctx.db, 'oldkey@example.org', 'Suppressed Old Key');
  await optIn(m.suppressedOld);
  await suppressAddress(ctx.db, 'OLDKEY@example.org', suppressionKeys([OLD_KEY]));
  m.legacy = await insertMember(ctx.db, 'legacy@example.org', 'Suppressed Before Key Separation');
  await optIn(m.legacy);
  await suppressLegacy(ctx.db, 'Legacy@example.org ', TEST_SECRET);
  m.legacyOld = await insertMember(ctx.db, 'legacy-old@example.org', 'Suppressed Before Key Separation, Old Key');
  await optIn(m.legacyOld);
  await suppressLegacy(ctx.db, 'legacy-old@example.org', OLD_KEY);
  m.elsewhere = await insertMember(ctx.db, 'elsewhere@example.org', 'Other Topic Only');
  await optIn(m.elsewhere, other);
  await optIn(m.elsewhere, retired);
  await ctx.db('topics').where({ id: retired }).update({ retired_at: ctx.db.fn.now() });

  // Enough opted-in members that the file takes several cursor batches.
  await insertOptedInMembers(ctx.db, { count: BULK, topicId: news, policyId, prefix: 'bulk', domain: 'example.org' });
}, 60000);
afterAll(() => ctx.close());

function parseLines(text: string): string[][] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => l.split(','));
}

describe('audience export', () => {
  it('C12: the list shows each current topic with the count of deliverable opted-in members', async () => {
    const res = await admin.agent.get('/admin/audiences').expect(200);
    expect(res.text).toMatch(
      new RegExp(`news <span class="muted">\\(news, by e-mail\\)</span></td>\\s*<td>Newsletter</td>\\s*<td>${BULK + 2}</td>`),
    );
    expect(res.text).toMatch(/events <span class="muted">\(events, by e-mail\)<\/span><\/td>\s*<td>Announcement<\/td>\s*<td>1<\/td>/);
    expect(res.text).toContain(`href="/admin/audiences/${news}/csv"`);
    expect(res.text).not.toContain('old-news');
  });

  it('C12: the CSV holds only opted-in, active, deliverable, non-suppressed members, is streamed in chunks and is audited', async () => {
    const res = await admin.agent.get(`/admin/audiences/${news}/csv`).buffer(true).expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audience-news-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');

    const [header, ...rows] = parseLines(res.text);
    expect(header).toEqual(['member_id', 'email', 'name', 'unsubscribe_url', 'manage_url']);
    expect(rows).toHaveLength(BULK + 2);
    const byId = new Map(rows.map((r) => [r[0], r]));
    // Each row carries the member's own links for this topic, the very URLs Assent itself signs (issue 12).
    const links = new Links(ctx.config.baseUrl, ctx.config.secretKeys);
    const withLinks = (id: string, email: string, name: string) => [id, email, name, links.unsubscribe(id, news).url, expect.any(String)];
    expect(byId.get(m.formula)).toEqual(withLinks(m.formula!, 'formula@example.org', "'@SUM(1+1)"));
    expect(byId.get(m.mixed)).toEqual(withLinks(m.mixed!, 'Mixed.Case@Example.org', 'Mixed Case'));
    for (const r of rows) {
      expect(links.signer.verify(r[3]!.split('/unsubscribe/')[1], 'unsubscribe')).toEqual({ p: 'unsubscribe', m: r[0], s: String(news) });
      expect(links.readManage(r[4]!.split('/p/')[1]!)).toEqual({ memberId: r[0], issuedAt: expect.any(Number) });
    }
    for (const absent of [m.out, m.pending, m.bounced, m.suppressed, m.suppressedOld, m.legacy, m.legacyOld, m.elsewhere])
      expect(byId.has(absent)).toBe(false);
    expect(new Set(rows.map((r) => r[0])).size).toBe(rows.length);
    expect(rows.filter((r) => /^bulk\d+@example\.org$/.test(r[1]!))).toHaveLength(BULK);

    const started = await ctx.db('audit_log').where({ action: 'audience.export_started' });
    expect(started.map((e: { details: unknown }) => e.details)).toEqual([{ topicId: expect.any(Number) }]);
    // The closing entry holds the row count, known only once the last row has gone: it is written
    // just after the response ends, so it may land a moment after the client has the whole file.
    const audit = await waitFor(async () => {
      const rows = await ctx.db('audit_log').where({ action: 'audience.exported' });
      return rows.length > 0 && rows;
    }, 'the closing audit entry');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      staff_user_id: admin.id,
      member_id: null,
      details: { topicId: news, rows: BULK + 2, completed: true },
    });
    expect(JSON.stringify(audit[0].details)).not.toContain('@');
  });

  it('C12: support and auditor get 403 on the audience list and its export, and nothing is logged as exported', async () => {
    for (const role of ['support', 'auditor'] as const) {
      const { agent } = await signedInStaff(ctx, `audience-${role}@example.org`, role);
      await agent.get('/admin/audiences').expect(403);
      const res = await agent.get(`/admin/audiences/${news}/csv`).expect(403);
      expect(res.text).not.toContain('example.org,');
    }
    expect(await ctx.db('audit_log').where({ action: 'audience.exported' })).toHaveLength(1);
  });

  it('never answers 500 to a bad topic id; a retired or unknown topic has no audience', async () => {
    for (const id of [':id', 'abc', '0', '1e3', '99999999999', '424242', String(retired)])
      await admin.agent.get(`/admin/audiences/${id}/csv`).expect(404);
    expect(await ctx.db('audit_log').where({ action: 'audience.exported' })).toHaveLength(1);
  });
});
