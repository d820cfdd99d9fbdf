import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { ensurePartner, insertMember, insertPolicy, insertTopic, recordConsent } from '../helpers/fixtures.js';

let t: TestDatabase;
let policyId: number;
let memberId: string;
let newsletterId: number;
let offerId: number;
let sharingId: number;

beforeAll(async () => {
  t = await createTestDatabase();
  policyId = await insertPolicy(t.db, { version: '1.0' });
  memberId = await insertMember(t.db, 'member@example.org');
  newsletterId = await insertTopic(t.db, { slug: 'bulletin', kind: 'newsletter', policyId });
  offerId = await insertTopic(t.db, { slug: 'offers', kind: 'third_party_offer', policyId });
  sharingId = await insertTopic(t.db, { slug: 'sharing', kind: 'partner_data_sharing', policyId });
});
afterAll(() => t.drop());

describe('the consent ledger is append-only', () => {
  it('refuses UPDATE of a ledger event', async () => {
    const id = await recordConsent(t.db, { memberId, topicId: newsletterId, policyId, to: 'opted_in', source: 'member_web' });
    await expect(t.db('consent_ledger').where({ id }).update({ to_status: 'opted_out' })).rejects.toThrow(/append-only/);
  });

  it('refuses DELETE and TRUNCATE of the ledger', async () => {
    await expect(t.db('consent_ledger').delete()).rejects.toThrow(/append-only/);
    await expect(t.db.raw('TRUNCATE consent_ledger CASCADE')).rejects.toThrow(/append-only/);
    expect(Number((await t.db('consent_ledger').count({ n: '*' }))[0]?.n)).toBeGreaterThan(0);
  });

  it('refuses a current-state consent that no ledger event backs', async () => {
    const [event] = await t
      .db('consent_ledger')
      .insert({
        member_id: memberId,
        topic_id: newsletterId,
        to_status: 'opted_out',
        source: 'member_web',
        channel: 'web',
        policy_version_id: policyId,
      })
      .returning('id');
    await expect(
      t
        .db('consents')
        .where({ member_id: memberId, topic_id: newsletterId })
        .update({ status: 'opted_in', last_event_id: (event as { id: number }).id }),
    ).rejects.toThrow(/matching consent_ledger event/);
  });
});

describe('C1: third-party topics are opted in only by an explicit act of the member', () => {
  it('C1: the database refuses a pre-ticked topic of any kind, new or changed', async () => {
    for (const kind of ['newsletter', 'announcement', 'third_party_offer', 'partner_data_sharing']) {
      const partner_id = kind === 'newsletter' || kind === 'announcement' ? null : await ensurePartner(t.db, 'Pre-tick Partner');
      const row = { slug: `ticked-${kind.replace(/_/g, '-')}`, name: kind, kind, partner_id, introduced_in_policy_version_id: policyId };
      await expect(t.db('topics').insert({ ...row, default_opt_in: true })).rejects.toMatchObject({
        constraint: 'topics_never_pre_ticked',
      });
      await t.db('topics').insert(row);
      await expect(t.db('topics').where({ slug: row.slug }).update({ default_opt_in: true })).rejects.toMatchObject({
        constraint: 'topics_never_pre_ticked',
      });
    }
  });

  it('C1: the database refuses an import, system or bulk opt-in to a third-party topic', async () => {
    for (const source of ['import', 'system', 'erasure', 'unsubscribe_link']) {
      await expect(
        recordConsent(t.db, { memberId, topicId: offerId, policyId, to: 'opted_in', source, channel: 'system' }),
      ).rejects.toThrow(/C1: an opt-in/);
    }
    expect(await t.db('consents').where({ topic_id: offerId })).toHaveLength(0);
  });

  it("C1: staff may opt a member in to partner sharing only citing the member's own request", async () => {
    await expect(
      recordConsent(t.db, { memberId, topicId: sharingId, policyId, to: 'opted_in', source: 'staff', channel: 'phone' }),
    ).rejects.toThrow(/C1/);
    await expect(
      recordConsent(t.db, { memberId, topicId: sharingId, policyId, to: 'opted_in', source: 'staff', channel: 'phone', reference: '  ' }),
    ).rejects.toThrow(/C1/);
    await recordConsent(t.db, {
      memberId,
      topicId: sharingId,
      policyId,
      to: 'opted_in',
      source: 'staff',
      channel: 'post',
      reference: 'letter of 3 May',
    });
    expect(await t.db('consents').where({ member_id: memberId, topic_id: sharingId }).first()).toMatchObject({ status: 'opted_in' });
  });

  it("C1: the member's own ticked box opts in, and an import may still opt anyone out", async () => {
    const other = await insertMember(t.db, 'other@example.org');
    await recordConsent(t.db, { memberId: other, topicId: offerId, policyId, to: 'opted_in', source: 'signup' });
    await recordConsent(t.db, { memberId: other, topicId: offerId, policyId, to: 'opted_out', source: 'import', channel: 'system' });
    expect(await t.db('consents').where({ member_id: other, topic_id: offerId }).first()).toMatchObject({ status: 'opted_out' });
  });

  it('C1 C6: a statement writing many ledger events (as an import batch does) is refused whole when one of them breaks a rule', async () => {
    const batch = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((n) => insertMember(t.db, `${n}@example.org`)));
    const event = (member: string, topicId: number, source: string) => ({
      member_id: member,
      topic_id: topicId,
      to_status: 'opted_in',
      source,
      channel: 'system',
      policy_version_id: policyId,
    });
    const ledgerRows = () => t.db('consent_ledger').whereIn('member_id', batch);
    // The change feed's rows for these events (written by another trigger of the same statement).
    const feedRows = () => t.db('api_changes').whereIn('member_id', batch).where({ kind: 'consent' });
    // The third of four events is an import's opt-in to a third-party offer.
    await expect(
      t
        .db('consent_ledger')
        .insert([
          event(batch[0]!, newsletterId, 'import'),
          event(batch[1]!, newsletterId, 'import'),
          event(batch[2]!, offerId, 'import'),
          event(batch[3]!, newsletterId, 'import'),
        ]),
    ).rejects.toThrow('C1: an opt-in to a third_party_offer topic needs an explicit act of the member (source import)');
    expect(await ledgerRows()).toEqual([]);
    expect(await feedRows()).toEqual([]);
    // The last of four members is erased: none of the four opt-ins is written.
    const erased = batch[3]!;
    await t.db('members').where({ id: erased }).update({ status: 'erased', email: null, name: null });
    await expect(t.db('consent_ledger').insert(batch.map((m) => event(m, newsletterId, 'import')))).rejects.toThrow(
      'C6: an erased member cannot be opted in',
    );
    expect(await ledgerRows()).toEqual([]);
    // The rules pass: every event is written, with its change-feed row; then their consents, one naming the wrong event.
    const ids = (
      (await t
        .db('consent_ledger')
        .insert(batch.slice(0, 3).map((m) => event(m, newsletterId, 'import')))
        .returning(['id', 'member_id'])) as { id: number; member_id: string }[]
    ).map((r) => [r.member_id, r.id] as const);
    expect(await feedRows()).toHaveLength(3);
    const consent = ([member, id]: readonly [string, number]) => ({
      member_id: member,
      topic_id: newsletterId,
      status: 'opted_in',
      policy_version_id: policyId,
      last_event_id: id,
    });
    await expect(t.db('consents').insert([consent(ids[0]!), consent(ids[1]!), consent([ids[2]![0], ids[0]![1]])])).rejects.toThrow(
      'consents must follow a matching consent_ledger event',
    );
    expect(await t.db('consents').whereIn('member_id', batch)).toEqual([]);
    await t.db('consents').insert(ids.map(consent));
    expect(await t.db('consents').whereIn('member_id', batch)).toHaveLength(3);
  });

  it('an import may opt members in to an ordinary newsletter', async () => {
    const third = await insertMember(t.db, 'third@example.org');
    await recordConsent(t.db, { memberId: third, topicId: newsletterId, policyId, to: 'opted_in', source: 'import', channel: 'system' });
    expect(await t.db('consents').where({ member_id: third, topic_id: newsletterId }).first('status')).toEqual({ status: 'opted_in' });
  });
});

describe('C7: policy versions give at least seven days of notice', () => {
  it('C7: the database refuses a policy published with 6 days of notice', async () => {
    await expect(
      t.db('policy_versions').insert({
        version: '2.0',
        title: 'Too soon',
        body: 'x',
        published_at: t.db.fn.now(),
        effective_at: t.db.raw("now() + interval '6 days 23 hours'"),
      }),
    ).rejects.toThrow(/policy_versions_seven_days_notice/);
  });

  it('C7: accepts exactly seven days, and a draft without dates', async () => {
    await t.db('policy_versions').insert({
      version: '2.1',
      title: 'On time',
      body: 'x',
      published_at: t.db.raw('now()'),
      effective_at: t.db.raw("now() + interval '7 days'"),
    });
    await t.db('policy_versions').insert({ version: '3.0-draft', title: 'Draft', body: 'x' });
    expect((await t.db('policy_versions').whereIn('version', ['2.1', '3.0-draft']).select('version')).map((r) => r.version).sort()).toEqual(
      ['2.1', '3.0-draft'],
    );
  });

  it('C7: a published version cannot be edited or deleted; a draft can', async () => {
    await expect(t.db('policy_versions').where({ version: '2.1' }).update({ body: 'changed' })).rejects.toThrow(
      /published and cannot be changed/,
    );
    await expect(t.db('policy_versions').where({ version: '2.1' }).delete()).rejects.toThrow(/cannot be deleted/);
    await t.db('policy_versions').where({ version: '3.0-draft' }).update({ body: 'edited draft' });
  });

  it('C7: a policy cannot be given an effective date without a publication date', async () => {
    await expect(
      t.db('policy_versions').insert({ version: '4.0', title: 'x', body: 'x', effective_at: t.db.raw("now() + interval '30 days'") }),
    ).rejects.toThrow(/policy_versions_published_together/);
  });
});

describe('C8: consents and topics name their policy version', () => {
  it('C8: a ledger event without a policy version is refused', async () => {
    await expect(
      t
        .db('consent_ledger')
        .insert({ member_id: memberId, topic_id: newsletterId, to_status: 'opted_in', source: 'member_web', channel: 'web' }),
    ).rejects.toThrow(/policy_version_id/);
  });
});
