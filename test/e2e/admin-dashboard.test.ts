import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';
import { signedInStaff } from '../helpers/staff.js';

let ctx: TestContext;
const DAY = 24 * 60 * 60 * 1000;
const WEEK = 7 * DAY;
/** Monday 00:00 UTC of the current ISO week. */
const thisMonday = (() => {
  const now = new Date();
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return midnight - ((now.getUTCDay() + 6) % 7) * DAY;
})();
/** A time inside the ISO week `weeksAgo` weeks back (0 = this week). */
const inWeek = (weeksAgo: number) => new Date(thisMonday - weeksAgo * WEEK + 60 * 1000);

function isoWeekLabel(monday: number): string {
  const thursday = new Date(monday + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / WEEK) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

const PEOPLE = [
  { email: 'dash-alice@example.org', name: 'Alice Dashwood' },
  { email: 'dash-bob@example.org', name: 'Bob Dashwood' },
  { email: 'dash-cy@example.org', name: 'Cy Dashwood' },
  { email: 'dash-dee@example.org', name: 'Dee Dashwood' },
  { email: 'dash-eve@example.org', name: 'Eve Dashwood' },
];
const memberIds: string[] = [];
let news: number;
let offers: number;
let quiet: number;

beforeAll(async () => {
  ctx = await startTestContext();
  const policyId = await insertPolicy(ctx.db, { version: 'dash-1' });
  news = await insertTopic(ctx.db, { slug: 'dash-news', kind: 'newsletter', policyId });
  offers = await insertTopic(ctx.db, { slug: 'dash-offers', kind: 'third_party_offer', policyId, partner: 'Dash Partner' });
  quiet = await insertTopic(ctx.db, { slug: 'dash-quiet', kind: 'announcement', policyId });
  for (const p of PEOPLE) memberIds.push(await insertMember(ctx.db, p.email, p.name));
  const [alice, bob, cy, dee, eve] = memberIds as [string, string, string, string, string];
  const consent = (memberId: string, topicId: number, to: 'opted_in' | 'opted_out') =>
    recordConsent(ctx.db, { memberId, topicId, policyId, to, source: 'member_web' });
  // news: in = alice, bob; out = cy; (eve opted in, then erased: not counted)
  await consent(alice, news, 'opted_in');
  await consent(bob, news, 'opted_in');
  await consent(cy, news, 'opted_in');
  await consent(cy, news, 'opted_out');
  await consent(eve, news, 'opted_in');
  // offers: in = bob; out = alice, dee
  await consent(bob, offers, 'opted_in');
  await consent(alice, offers, 'opted_out');
  await consent(dee, offers, 'opted_out');

  // Sign-ups confirmed: this week 2 (alice, bob), last week 1 (cy), 3 weeks ago 1 (dee), long ago 1 (eve).
  const confirmed: [string, Date][] = [
    [alice, inWeek(0)],
    [bob, inWeek(0)],
    [cy, inWeek(1)],
    [dee, inWeek(3)],
    [eve, inWeek(20)],
  ];
  for (const [id, at] of confirmed) await ctx.db('members').where({ id }).update({ confirmed_at: at });

  // Removals: eve's was asked 3 weeks ago and carried out last week; dee asked last week (confirmed);
  // cy asked this week (unconfirmed); an old one of bob's, 30 weeks ago, is outside the window.
  await ctx.db('removal_requests').insert([
    { member_id: eve, status: 'completed', requested_at: inWeek(3), confirmed_at: inWeek(3), completed_at: inWeek(1) },
    { member_id: dee, status: 'confirmed', requested_at: inWeek(1), confirmed_at: inWeek(1), due_at: inWeek(-3) },
    { member_id: cy, status: 'unconfirmed', requested_at: inWeek(0) },
    { member_id: bob, status: 'cancelled', requested_at: inWeek(30), cancelled_at: inWeek(30) },
  ]);
  await ctx
    .db('members')
    .where({ id: eve })
    .update({ status: 'erased', email: null, name: null, erased_at: inWeek(1) });

  // Sign-ups awaiting confirmation: two unexpired ticked news (one also offers), one expired is not counted,
  // and an address that joined twice is one person waiting, not two.
  const pending = (email: string, topics: number[], expiresInHours: number, n: number) => ({
    email,
    name: `Pending Person ${n}`,
    topic_ids: topics,
    policy_version_id: policyId,
    age_confirmed: true,
    token_hash: String(n).repeat(64).slice(0, 64),
    expires_at: new Date(Date.now() + expiresInHours * 3600 * 1000),
  });
  await ctx
    .db('pending_signups')
    .insert([
      pending('pending-1@example.org', [news], 24, 1),
      pending('pending-2@example.org', [news, offers], 24, 2),
      pending('pending-3@example.org', [news], -1, 3),
      pending('pending-2@example.org', [news], 24, 4),
    ]);
});
afterAll(() => ctx.close());

/** The figures of a table row, keyed by its data attribute. */
function rows(html: string, attr: 'topic' | 'week'): { key: string; cells: string[] }[] {
  return [...html.matchAll(new RegExp(`<tr data-${attr}="([^"]+)">([\\s\\S]*?)</tr>`, 'g'))].map((m) => ({
    key: m[1] ?? '',
    cells: [...(m[2] ?? '').matchAll(/<td>([^<]*)<\/td>/g)].map((c) => c[1] ?? ''),
  }));
}

describe('C10: the dashboard shows aggregates only', () => {
  it('C10: per topic, the counts of members opted in and out and of pending sign-ups that ticked it', async () => {
    const { agent } = await signedInStaff(ctx, 'dash-support@example.org', 'support');
    const page = await agent.get('/admin/dashboard').expect(200);
    const topics = Object.fromEntries(rows(page.text, 'topic').map((r) => [r.key, r.cells]));
    // cells: kind, opted in, opted out, pending
    expect(topics[String(news)]).toEqual(['Newsletter', '2', '1', '2']);
    expect(topics[String(offers)]).toEqual(['Third-party offer', '1', '2', '1']);
    expect(topics[String(quiet)]).toEqual(['Announcement', '0', '0', '0']);
    expect(page.text).toMatch(/<dt>Active members<\/dt><dd>4<\/dd>/);
    expect(page.text).toMatch(/<dt>Erased members<\/dt><dd>1<\/dd>/);
  });

  it('C10: sign-ups confirmed and removals requested and carried out per ISO week, last 12 weeks, newest first', async () => {
    const { agent } = await signedInStaff(ctx, 'dash-auditor@example.org', 'auditor');
    const page = await agent.get('/admin/dashboard').expect(200);
    const weeks = rows(page.text, 'week');
    expect(weeks).toHaveLength(12);
    expect(weeks.map((w) => w.key)).toEqual(Array.from({ length: 12 }, (_, i) => isoWeekLabel(thisMonday - i * WEEK)));
    // cells: sign-ups, removals requested, removals carried out
    expect(weeks[0]?.cells).toEqual(['2', '1', '0']);
    expect(weeks[1]?.cells).toEqual(['1', '1', '1']);
    expect(weeks[2]?.cells).toEqual(['0', '0', '0']);
    expect(weeks[3]?.cells).toEqual(['1', '1', '0']);
    const totals = weeks.reduce((sum, w) => sum.map((s, i) => s + Number(w.cells[i])), [0, 0, 0]);
    expect(totals).toEqual([4, 3, 1]);
  });

  it('C10: the page holds no member e-mail address, name or id, and no pending sign-up’s', async () => {
    const { agent } = await signedInStaff(ctx, 'dash-admin@example.org', 'admin');
    const page = await agent.get('/admin/dashboard').expect(200);
    for (const p of PEOPLE) {
      expect(page.text).not.toContain(p.email);
      expect(page.text).not.toContain(p.name);
    }
    for (const id of memberIds) expect(page.text).not.toContain(id);
    expect(page.text).not.toMatch(/pending-\d@example\.org|Pending Person/);
    expect(page.text).not.toMatch(/Dashwood|dash-\w+@/);
    expect(page.text).not.toContain('<script');
  });
});
