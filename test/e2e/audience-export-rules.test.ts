import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'csv-stringify/sync';
import { Links } from '../../src/shared/links.js';
import { suppressionKeys } from '../../src/shared/suppression.js';
import { TEST_SECRET, startTestContext, type TestContext } from '../helpers/app.js';
import { insertMember, insertPolicy, insertTopic, recordConsent, suppressLegacy } from '../helpers/fixtures.js';
import { signedInStaff, type Agent } from '../helpers/staff.js';

/** Three master keys configured: six lookup keys (three derived, three master keys themselves). */
const SECOND_KEY = 'a-second-secret-key-still-accepted-0123456789';
const THIRD_KEY = 'a-third-secret-key-still-accepted-01234567890';

let ctx: TestContext;
let admin: { id: string; agent: Agent };
let news: number;
let policyId: number;
const kept: string[] = [];
const leftOut: Record<string, string> = {};

const optIn = (memberId: string) => recordConsent(ctx.db, { memberId, topicId: news, policyId, to: 'opted_in', source: 'signup' });

/** Names and addresses as the old export (csv-stringify with escape_formulas) had to treat them. */
const AWKWARD: [string, string | null][] = [
  ['eq@example.org', '=HYPERLINK("http://x")'],
  ['plus@example.org', '+1 555'],
  ['-dash@example.org', '-minus'],
  ['at@example.org', '@SUM(A1)'],
  ['tab@example.org', '\tTab'],
  ['cr@example.org', '\rCarriage'],
  ['full@example.org', '＝full-width equals'],
  ['full2@example.org', '＋full-width plus'],
  ['full3@example.org', '－full-width minus'],
  ['full4@example.org', '＠full-width at'],
  ['comma@example.org', 'Last, First'],
  ['quote@example.org', 'Say "hi"'],
  ['lines@example.org', 'two\nlines'],
  ['empty@example.org', ''],
  ['null@example.org', null],
  ['space@example.org', ' leading space'],
  ['apostrophe@example.org', "'already"],
  ['inner@example.org', 'x=1+2'],
  ['unicode@example.org', 'Zoë Ünal'],
];

beforeAll(async () => {
  ctx = await startTestContext({ SECRET_KEYS: `${TEST_SECRET},${SECOND_KEY},${THIRD_KEY}` });
  admin = await signedInStaff(ctx, 'rules-admin@example.org', 'admin');
  policyId = await insertPolicy(ctx.db, { version: '1.0' });
  news = await insertTopic(ctx.db, { slug: 'news', kind: 'newsletter', policyId });

  const keys = suppressionKeys(ctx.config.secretKeys);
  expect(keys.lookup).toHaveLength(6);
  for (const [i, key] of keys.lookup.entries()) {
    // Suppressed under this key only (written in any case and spacing: the hash is of the normalised address).
    const id = await insertMember(ctx.db, `suppressed${i}@example.org`, `Suppressed under key ${i}`);
    await optIn(id);
    await suppressLegacy(ctx.db, ` Suppressed${i}@Example.org`, key);
    leftOut[`suppressed under lookup key ${i}`] = id;
  }
  const undeliverable = await insertMember(ctx.db, 'bounced@example.org', 'Bounced');
  await optIn(undeliverable);
  await ctx.db('members').where({ id: undeliverable }).update({ email_undeliverable_at: ctx.db.fn.now() });
  leftOut.undeliverable = undeliverable;
  const inactive = await insertMember(ctx.db, 'pending@example.org', 'Not confirmed');
  await optIn(inactive);
  await ctx.db('members').where({ id: inactive }).update({ status: 'pending', confirmed_at: null });
  leftOut.inactive = inactive;
  const optedOut = await insertMember(ctx.db, 'out@example.org', 'Opted out');
  await optIn(optedOut);
  await recordConsent(ctx.db, { memberId: optedOut, topicId: news, policyId, to: 'opted_out', source: 'one_click', channel: 'email' });
  leftOut['opted out'] = optedOut;

  for (const [email, name] of AWKWARD) {
    const id = await insertMember(ctx.db, email);
    await ctx.db('members').where({ id }).update({ name });
    await optIn(id);
    kept.push(id);
  }
}, 60000);
afterAll(() => ctx.close());

describe('audience export made by PostgreSQL', () => {
  it('C12: leaves out members suppressed under every configured key, undeliverable, inactive and opted-out ones', async () => {
    const res = await admin.agent.get(`/admin/audiences/${news}/csv`).buffer(true).expect(200);
    for (const [why, id] of Object.entries(leftOut)) expect([why, res.text.includes(id)]).toEqual([why, false]);
    for (const id of kept) expect(res.text).toContain(id);
    // The count on the list page applies the same rules.
    const list = await admin.agent.get('/admin/audiences').expect(200);
    expect(list.text).toMatch(new RegExp(`<td>Newsletter</td>\\s*<td>${AWKWARD.length}</td>`));
  });

  it('C12: writes every cell byte for byte as the csv-stringify export did, formula escaping included, links as Assent signs them', async () => {
    const before = Date.now();
    const res = await admin.agent.get(`/admin/audiences/${news}/csv`).buffer(true).expect(200);
    const rows = (await ctx.db('members').whereIn('id', kept).select('id', 'email', 'name')) as {
      id: string;
      email: string;
      name: string | null;
    }[];
    // A manage link names the second it was made in: read it from the file, then sign every link in JavaScript.
    const links = new Links(ctx.config.baseUrl, ctx.config.secretKeys);
    const issuedAt = links.readManage(/\/p\/([A-Za-z0-9_.-]+)/.exec(res.text)![1]!)!.issuedAt;
    expect(issuedAt).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    const expected = stringify(
      rows.map((r) => ({
        member_id: r.id,
        email: r.email,
        name: r.name,
        unsubscribe_url: links.unsubscribe(r.id, news).url,
        manage_url: links.manage(r.id, issuedAt * 1000),
      })),
      { header: true, columns: ['member_id', 'email', 'name', 'unsubscribe_url', 'manage_url'], escape_formulas: true },
    );
    const [header, ...records] = expected.split(/\n(?=[0-9a-f]{8}-)/);
    expect(res.text.startsWith(`${header}\n`)).toBe(true);
    expect(res.text.length).toBe(expected.length);
    for (const record of records) expect(res.text).toContain(`\n${record.endsWith('\n') ? record : `${record}\n`}`);
    // Spot checks of what a spreadsheet will see.
    expect(res.text).toContain(',"\'=HYPERLINK(""http://x"")",http');
    expect(res.text).toContain(",'-dash@example.org,'-minus,http");
    expect(res.text).toContain(',"Say ""hi""",http');
    expect(res.text).toContain(',"two\nlines",http');
    expect(res.text).toContain(",'＠full-width at,http");
    expect(res.text).toContain(',empty@example.org,,http');
    expect(res.text).toContain(',x=1+2,http');
  });
});
