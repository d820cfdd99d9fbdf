import type { DbOrTx } from '../db.js';

export type ConsentStatus = 'opted_in' | 'opted_out';
export type TopicKind = 'newsletter' | 'announcement' | 'third_party_offer' | 'partner_data_sharing';
export const LEDGER_SOURCES = [
  'signup',
  'member_web',
  'member_link',
  'unsubscribe_link',
  'one_click',
  'staff',
  'import',
  'erasure',
  'system',
  'api',
  'complaint',
] as const;
export type LedgerSource = (typeof LEDGER_SOURCES)[number];
export const LEDGER_CHANNELS = ['web', 'email', 'phone', 'post', 'system'] as const;
export type LedgerChannel = (typeof LEDGER_CHANNELS)[number];

export interface TopicRow {
  id: number;
  slug: string;
  name: string;
  description: string;
  kind: TopicKind;
  channel: string;
  /** How often it is sent, in the organisation's words ("Monthly"); empty when not said. */
  frequency: string;
  partner_name: string | null;
  introduced_in_policy_version_id: number;
  /** When the policy version that introduced the topic took effect (or will). */
  introduced_effective_at: Date | null;
  sort_order: number;
}

export const KIND_ORDER: TopicKind[] = ['newsletter', 'announcement', 'third_party_offer', 'partner_data_sharing'];

/**
 * Topics joined to the policy version that introduced them (alias p) and their partner (alias pa),
 * with the columns every view of a topic shows; callers add their own filters and columns.
 */
export function topicsWithOrigin(db: DbOrTx) {
  return db('topics as t')
    .join('policy_versions as p', 'p.id', 't.introduced_in_policy_version_id')
    .leftJoin('partners as pa', 'pa.id', 't.partner_id')
    .select(
      't.id',
      't.slug',
      't.name',
      't.description',
      't.kind',
      't.channel',
      't.frequency',
      'pa.name as partner_name',
      't.introduced_in_policy_version_id',
      't.sort_order',
    );
}

/** Topics members can choose today: not retired, introduced by a published policy version. */
export async function listOfferedTopics(db: DbOrTx): Promise<TopicRow[]> {
  const rows = await topicsWithOrigin(db)
    .whereNull('t.retired_at')
    .whereNotNull('p.published_at')
    .select('p.effective_at as introduced_effective_at')
    .orderBy([{ column: 't.sort_order' }, { column: 't.id' }]);
  return (rows as TopicRow[]).sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
}

export interface ConsentRow {
  topic_id: number;
  status: ConsentStatus;
  policy_version_id: number;
  updated_at: Date;
}

export async function currentConsents(db: DbOrTx, memberId: string): Promise<Map<number, ConsentRow>> {
  const rows = (await db('consents')
    .where({ member_id: memberId })
    .select('topic_id', 'status', 'policy_version_id', 'updated_at')) as ConsentRow[];
  return new Map(rows.map((r) => [r.topic_id, r]));
}

/** When the latest policy version any of this member's choices was made under took effect. */
export async function latestPolicySeen(db: DbOrTx, memberId: string): Promise<Date | null> {
  const row = await db('consent_ledger as e')
    .join('policy_versions as p', 'p.id', 'e.policy_version_id')
    .where('e.member_id', memberId)
    .max({ at: 'p.effective_at' })
    .first();
  return (row?.at as Date | null) ?? null;
}

export interface ConsentEvent {
  memberId: string;
  topicId: number;
  from: ConsentStatus | null;
  to: ConsentStatus;
  source: LedgerSource;
  channel: LedgerChannel;
  policyVersionId: number;
  reference?: string | null;
  /** An opt-out from a bulletin's own unsubscribe link: which bulletin (counted on its progress page). */
  viaBulletinId?: number | null;
  /** The API key of an opt-out another system recorded (source 'api'; its name is the channel detail). */
  apiKeyId?: string | null;
}

/** Appends the ledger event and moves the current state to it, in one statement. */
export async function recordConsentEvent(db: DbOrTx, e: ConsentEvent): Promise<void> {
  await db.raw(
    `WITH event AS (
       INSERT INTO consent_ledger (member_id, topic_id, from_status, to_status, source, channel, policy_version_id, request_reference, via_bulletin_id, api_key_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, (SELECT id FROM bulletins WHERE id = ?), ?)
       RETURNING id, member_id, topic_id, to_status, policy_version_id
     )
     INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id, updated_at)
     SELECT member_id, topic_id, to_status, policy_version_id, id, now() FROM event
     ON CONFLICT (member_id, topic_id) DO UPDATE
       SET status = EXCLUDED.status, policy_version_id = EXCLUDED.policy_version_id,
           last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at`,
    [
      e.memberId,
      e.topicId,
      e.from,
      e.to,
      e.source,
      e.channel,
      e.policyVersionId,
      e.reference ?? null,
      e.viaBulletinId ?? null,
      e.apiKeyId ?? null,
    ],
  );
}

export interface LedgerRow {
  id: number;
  topic_id: number;
  topic_name: string;
  from_status: ConsentStatus | null;
  to_status: ConsentStatus;
  source: LedgerSource;
  channel: LedgerChannel;
  policy_version: string;
  created_at: Date;
}

export async function memberLedger(db: DbOrTx, memberId: string): Promise<LedgerRow[]> {
  return db('consent_ledger as e')
    .join('topics as t', 't.id', 'e.topic_id')
    .join('policy_versions as p', 'p.id', 'e.policy_version_id')
    .where('e.member_id', memberId)
    .orderBy('e.id', 'desc')
    .select(
      'e.id',
      'e.topic_id',
      't.name as topic_name',
      'e.from_status',
      'e.to_status',
      'e.source',
      'e.channel',
      'p.version as policy_version',
      'e.created_at',
    );
}

/** Any topic, retired or not: an old e-mail's unsubscribe link must keep working. */
export async function findTopic(db: DbOrTx, id: number): Promise<{ id: number; name: string } | undefined> {
  return db('topics').where({ id }).first('id', 'name');
}

/** One consent that changed: the topic, and its status before (none yet: null) and after. */
export interface ConsentChange {
  topic: TopicRow;
  from: ConsentStatus | null;
  to: ConsentStatus;
}
