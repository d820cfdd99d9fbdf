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
let history: number;

/** One ledger event at a given time, with the consent it leaves (as the app records both). */
async function consentAt(memberId: string, topicId: number, policyId: number, to: 'opted_in' | 'opted_out', at: Date) {
  const current = await ctx.db('consents').where({ member_id: memberId, topic_id: topicId }).first('status');
  const [event] = await ctx
    .db('consent_ledger')
    .insert({
      member_id: memberId,
      topic_id: topicId,
      from_status: (current as { status: string } | undefined)?.status ?? null,
      to_status: to,
      source: 'member_web',
      channel: 'web',
      policy_version_id: policyId,
      created_at: at,
    })
    .returning('id');
  await ctx
    .db('consents')
    .insert({
      member_id: memberId,
      topic_id: topicId,
      status: to,
      policy_version_id: policyId,
      last_event_id: (event as { id: number }).id,
    })
    .onConflict(['member_id', 'topic_id'])
    .merge();
}

beforeAll(async () => {
  ctx = await startTestContext();
  const policyId = await insertPolicy(ctx.db, { version: 'dash-1' });
  news = await insertTopic(ctx.db, { slug: 'dash-news', kind: 'newsletter', policyId });
  offers = await insertTopic(ctx.db, { slug: 'dash-offers', kind: 'third_party_offer', policyId, partner: 'Dash Partner' });
  quiet = await insertTopic(ctx.db, { slug: 'dash-quiet', kind: 'announcement', policyId });
  history = await insertTopic(ctx.db, { slug: 'dash-history', kind: 'announcement', policyId });
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
  // offers: in = bob; out = alice, dee (never in: not opt-outs)
  await consent(bob, offers, 'opted_in');
  await consent(alice, offers, 'opted_out');
  await consent(dee, offers, 'opted_out');
  // Erasure records its opt-outs in the ledger, as src/removal/erasure.service.ts does; not counted as opt-outs.
  await recordConsent(ctx.db, { memberId: eve, topicId: news, policyId, to: 'opted_out', source: 'erasure', channel: 'system' });
  // history, over time: cy in 60 weeks ago (before the window), alice in 10 weeks ago, bob 6 weeks ago, alice out 3 weeks ago.
  await consentAt(cy, history, policyId, 'opted_in', inWeek(60));
  await consentAt(alice, history, policyId, 'opted_in', inWeek(10));
  await consentAt(bob, history, policyId, 'opted_in', inWeek(6));
  await consentAt(alice, history, policyId, 'opted_out', inWeek(3));

  // Sign-ups confirmed: this week 2 (alice, bob), last week 1 (cy), 3 weeks ago 1 (dee), long ago 1 (eve).
  const confirmed: [string, Date][] = [
    [alice, inWeek(0)],
    [bob, inWeek(0)],
    [cy, inWeek(1)],
    [dee, inWeek(3)],
    [eve, inWeek(60)],
  ];
  for (const [id, at] of confirmed) await ctx.db('members').where({ id }).update({ confirmed_at: at });

  // Removals: eve's was asked 3 weeks ago and carried out last week; dee asked last week (confirmed);
  // cy asked this week (unconfirmed); an old one of bob's, 60 weeks ago, is outside the window.
  await ctx.db('removal_requests').insert([
    { member_id: eve, status: 'completed', requested_at: inWeek(3), confirmed_at: inWeek(3), completed_at: inWeek(1) },
    { member_id: dee, status: 'confirmed', requested_at: inWeek(1), confirmed_at: inWeek(1), due_at: inWeek(-3) },
    { member_id: cy, status: 'unconfirmed', requested_at: inWeek(0) },
    { member_id: bob, status: 'cancelled', requested_at: inWeek(60), cancelled_at: inWeek(60) },
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
    expect(topics[String(history)]).toEqual(['Announcement', '2', '1', '0']);
    expect(page.text).toMatch(/<dt>Active members<\/dt><dd>4<\/dd>/);
    expect(page.text).toMatch(/<dt>Erased members<\/dt><dd>1<\/dd>/);
  });

  it('C10: sign-ups confirmed, removals requested and carried out, and opt-outs per ISO week, last 52 weeks, newest first', async () => {
    const { agent } = await signedInStaff(ctx, 'dash-auditor@example.org', 'auditor');
    const page = await agent.get('/admin/dashboard').expect(200);
    const weeks = rows(page.text, 'week');
    expect(weeks).toHaveLength(52);
    expect(weeks.map((w) => w.key)).toEqual(Array.from({ length: 52 }, (_, i) => isoWeekLabel(thisMonday - i * WEEK)));
    // cells: sign-ups, removals requested, removals carried out, opt-outs (cy from news this week, alice from history 3 weeks ago)
    expect(weeks[0]?.cells).toEqual(['2', '1', '0', '1']);
    expect(weeks[1]?.cells).toEqual(['1', '1', '1', '0']);
    expect(weeks[2]?.cells).toEqual(['0', '0', '0', '0']);
    expect(weeks[3]?.cells).toEqual(['1', '1', '0', '1']);
    const totals = weeks.reduce((sum, w) => sum.map((s, i) => s + Number(w.cells[i])), [0, 0, 0, 0]);
    expect(totals).toEqual([4, 3, 1, 2]);
  });

  it('C10: the charts are SVG drawn on the server: one line per figure, and per topic its opted-in count at the end of each week', async () => {
    const { agent } = await signedInStaff(ctx, 'dash-charts@example.org', 'support');
    const page = await agent.get('/admin/dashboard').expect(200);
    const chart = (id: string) => page.text.match(new RegExp(`<figure class="chart" id="${id}">([\\s\\S]*?)</figure>`))?.[1] ?? '';
    const lines = (svg: string) =>
      Object.fromEntries([...svg.matchAll(/<path class="chart-line" d="([^"]+)"[^>]*><title>([^<]+)<\/title>/g)].map((m) => [m[2], m[1]]));
    /** The y of every point of a path (M x,y L x,y …). */
    const ys = (d: string) => [...d.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => Number(m[2]));

    const activity = chart('chart-activity');
    expect(activity).toMatch(/<svg [^>]*role="img"/);
    expect(Object.keys(lines(activity))).toEqual(['Sign-ups confirmed', 'Removals requested', 'Opt-outs']);
    const signups = ys(lines(activity)['Sign-ups confirmed'] ?? '');
    expect(signups).toHaveLength(52);
    // Oldest first: the newest week (2 sign-ups) sits higher than the week before (1), which sits above an empty week.
    expect(signups[51]).toBeLessThan(signups[50]!);
    expect(signups[50]).toBeLessThan(signups[49]!);

    const topics = lines(chart('chart-topics'));
    const historyLine = ys(topics['dash-history'] ?? '');
    expect(historyLine).toHaveLength(52);
    const expected = Array.from({ length: 52 }, (_, i) => {
      const weeksAgo = 51 - i;
      return 1 + (weeksAgo <= 10 ? 1 : 0) + (weeksAgo <= 6 ? 1 : 0) - (weeksAgo <= 3 ? 1 : 0);
    });
    // y = axis - scale * count, for the chart's own axis (count 0) and one scale across every point.
    const axis = Number(chart('chart-topics').match(/<line class="chart-axis"[^>]* y1="([\d.]+)"/)?.[1]);
    expect(axis).toBeGreaterThan(0);
    const scale = (axis - historyLine[0]!) / expected[0]!;
    expect(scale).toBeGreaterThan(0);
    historyLine.forEach((y, i) => expect(y).toBeCloseTo(axis - scale * expected[i]!, 0));
    expect(topics['dash-quiet']).toBeDefined();
    expect(page.text).toMatch(/<details class="chart-table">/);
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
