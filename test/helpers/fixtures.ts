import type { DbOrTx } from '../../src/db.js';
import { addressHash } from '../../src/shared/suppression.js';

/** Small builders for rows tests need; each returns the new id. */
export async function insertPolicy(
  db: DbOrTx,
  v: { version: string; publishedDaysAgo?: number; effectiveInDays?: number; title?: string; summary?: string },
): Promise<number> {
  const published = v.publishedDaysAgo ?? 30;
  const effective = v.effectiveInDays ?? -(published - 7);
  const [row] = await db('policy_versions')
    .insert({
      version: v.version,
      title: v.title ?? `Privacy statement ${v.version}`,
      summary: v.summary ?? '',
      body: 'Body text.',
      published_at: db.raw(`now() - make_interval(days => ?)`, [published]),
      effective_at: db.raw(`now() + make_interval(days => ?)`, [effective]),
    })
    .returning('id');
  return (row as { id: number }).id;
}

/** The id of the partner with this name, created (without a contract) if missing. */
export async function ensurePartner(db: DbOrTx, name: string, contract?: { reference: string; termsDate: string }): Promise<number> {
  const found = (await db('partners').where({ name }).first('id')) as { id: number } | undefined;
  if (found) return found.id;
  const [row] = await db('partners')
    .insert({ name, contract_reference: contract?.reference ?? null, terms_date: contract?.termsDate ?? null })
    .returning('id');
  return (row as { id: number }).id;
}

export async function insertTopic(db: DbOrTx, t: { slug: string; kind: string; policyId: number; partner?: string }): Promise<number> {
  const needsPartner = t.kind === 'third_party_offer' || t.kind === 'partner_data_sharing';
  const partnerId = needsPartner ? await ensurePartner(db, t.partner ?? 'Partner Ltd') : null;
  const [row] = await db('topics')
    .insert({
      slug: t.slug,
      name: t.slug,
      kind: t.kind,
      partner_id: partnerId,
      introduced_in_policy_version_id: t.policyId,
    })
    .returning('id');
  return (row as { id: number }).id;
}

export async function insertMember(db: DbOrTx, email: string, name: string | null = 'Test Member'): Promise<string> {
  const [row] = await db('members').insert({ email, name, status: 'active', confirmed_at: db.fn.now() }).returning('id');
  return (row as { id: string }).id;
}

export async function recordConsent(
  db: DbOrTx,
  c: {
    memberId: string;
    topicId: number;
    policyId: number;
    to: 'opted_in' | 'opted_out';
    source: string;
    channel?: string;
    reference?: string;
  },
): Promise<number> {
  const current = await db('consents').where({ member_id: c.memberId, topic_id: c.topicId }).first('status');
  const [event] = await db('consent_ledger')
    .insert({
      member_id: c.memberId,
      topic_id: c.topicId,
      from_status: (current as { status: string } | undefined)?.status ?? null,
      to_status: c.to,
      source: c.source,
      channel: c.channel ?? 'web',
      policy_version_id: c.policyId,
      request_reference: c.reference ?? null,
    })
    .returning('id');
  const eventId = (event as { id: number }).id;
  await db('consents')
    .insert({ member_id: c.memberId, topic_id: c.topicId, status: c.to, policy_version_id: c.policyId, last_event_id: eventId })
    .onConflict(['member_id', 'topic_id'])
    .merge();
  return eventId;
}

/** A new active member opted in at sign-up to each of the topics, under a published policy version. */
export async function insertMemberOptedIn(db: DbOrTx, email: string, topicIds: number[]): Promise<string> {
  const member = await insertMember(db, email);
  const policy = (await db('policy_versions').whereNotNull('published_at').first('id')) as { id: number };
  for (const topicId of topicIds)
    await recordConsent(db, { memberId: member, topicId, policyId: policy.id, to: 'opted_in', source: 'signup' });
  return member;
}

/**
 * Many active members opted in to one topic, made in one SQL statement (ledger events and current
 * state included): `<prefix><n>@<domain>`, named `<Prefix> <n>`. For volume tests and benchmarks.
 */
export async function insertOptedInMembers(
  db: DbOrTx,
  o: { count: number; topicId: number; policyId: number; prefix: string; domain: string },
): Promise<void> {
  await db.raw(
    `WITH new AS (
       INSERT INTO members (email, name, status, confirmed_at)
       SELECT ? || g || '@' || ?, initcap(?) || ' ' || g, 'active', now() FROM generate_series(1, ?) g RETURNING id
     ), ev AS (
       INSERT INTO consent_ledger (member_id, topic_id, to_status, source, channel, policy_version_id)
       SELECT id, ?, 'opted_in', 'signup', 'web', ? FROM new RETURNING id, member_id
     )
     INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id)
     SELECT member_id, ?, 'opted_in', ?, id FROM ev`,
    [o.prefix, o.domain, o.prefix, o.count, o.topicId, o.policyId, o.topicId, o.policyId],
  );
}

/** A suppression entry as written before key separation: keyed with a master key itself. */
export async function suppressLegacy(db: DbOrTx, email: string, masterKey: string): Promise<void> {
  await db('suppression_list')
    .insert({ address_hash: addressHash(email, masterKey), reason: 'erased' })
    .onConflict('address_hash')
    .ignore();
}
