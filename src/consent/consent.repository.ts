import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { MEMBER_COLUMNS, type MemberRow } from '../identity/members.repository.js';
import { webhookEndpointIdsFor } from '../events/webhook-events.js';
import { upcomingPolicyQuery } from '../policies/policies.repository.js';
import { isUuid } from '../shared/ids.js';

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

function offeredTopicsQuery(db: DbOrTx) {
  return topicsWithOrigin(db).whereNull('t.retired_at').whereNotNull('p.published_at').select('p.effective_at as introduced_effective_at');
}

/** In the order pages show them: by kind (newsletters first), then the topic's own order. */
function inPageOrder(rows: TopicRow[]): TopicRow[] {
  return rows.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.sort_order - b.sort_order || a.id - b.id);
}

/** Topics members can choose today: not retired, introduced by a published policy version. */
export async function listOfferedTopics(db: DbOrTx): Promise<TopicRow[]> {
  return inPageOrder((await offeredTopicsQuery(db)) as TopicRow[]);
}

/** What a change of a member's choices reads, once the member is locked: see readChoiceState. */
export interface ChoiceState {
  /** The offered topics, in page order. */
  topics: TopicRow[];
  /** The member's current status per topic (a topic never chosen has no entry). */
  consents: Map<number, ConsentStatus>;
  policyInForceId: number | null;
  /** The topic an unsubscribe link names (any topic, retired or not), when one was asked for; null if there is none. */
  namedTopic: { id: number; name: string } | null;
  /** The enabled webhook endpoints that want `consent.changed` (issue 12.3). */
  consentWebhookEndpoints: number[];
}

/**
 * The offered topics, the member's current consents, the policy version in force, the topic a
 * link names and the webhook endpoints that hear of a change, in one statement. Run it after the
 * member's row is locked: in READ COMMITTED a new statement sees every change committed by whoever
 * held the lock before.
 */
export async function readChoiceState(trx: Knex.Transaction, memberId: string, namedTopicId?: number): Promise<ChoiceState> {
  const { rows } = await trx
    .raw<{ rows: [Record<string, unknown>] }>(
      `SELECT
       (SELECT coalesce(json_agg(o), '[]'::json) FROM ? o) AS topics,
       (SELECT coalesce(json_agg(json_build_object('topic_id', c.topic_id, 'status', c.status)), '[]'::json)
          FROM consents c WHERE c.member_id = ?) AS consents,
       (SELECT p.id FROM policy_versions p WHERE p.published_at IS NOT NULL AND p.effective_at <= CURRENT_TIMESTAMP
          ORDER BY p.effective_at DESC LIMIT 1) AS policy_id,
       (SELECT json_build_object('id', t.id, 'name', t.name) FROM topics t WHERE t.id = ?) AS named_topic,
       (SELECT coalesce(json_agg(w.id), '[]'::json) FROM ? w) AS webhook_endpoints`,
      [offeredTopicsQuery(trx), memberId, namedTopicId ?? null, webhookEndpointIdsFor(trx, 'consent.changed')],
    )
    // Named: each connection plans it once (it runs on every change of choices).
    .options({ name: 'choice_state' });
  const row = rows[0];
  return {
    topics: topicsFromJson(row.topics),
    consents: statusesFromJson(row.consents),
    policyInForceId: (row.policy_id as number | null) ?? null,
    namedTopic: (row.named_topic as ChoiceState['namedTopic']) ?? null,
    consentWebhookEndpoints: row.webhook_endpoints as number[],
  };
}

/** What the preference page shows, read in one statement (see preferencePageData). */
export interface PreferencePageData {
  member: MemberRow;
  topics: TopicRow[];
  consents: Map<number, ConsentStatus>;
  /** When the latest policy version any of the member's choices was made under took effect. */
  seen: Date | null;
  /** Per topic: when its last bulletin went out, and whether it has a public archive. */
  sent: Map<number, { lastSentAt: Date; hasArchive: boolean }>;
  /** The policy version in its notice period, for the page's banner (C7); null when there is none. */
  upcomingPolicy: { version: string; effective_at: Date } | null;
}

/** The offered topics as json_agg gave them (dates as text), in page order. */
function topicsFromJson(json: unknown): TopicRow[] {
  return inPageOrder(
    (json as (TopicRow & { introduced_effective_at: string | null })[]).map((t) => ({
      ...t,
      introduced_effective_at: t.introduced_effective_at === null ? null : new Date(t.introduced_effective_at),
    })),
  );
}

/** A member's statuses per topic from json_agg of (topic_id, status). */
function statusesFromJson(json: unknown): Map<number, ConsentStatus> {
  return new Map((json as { topic_id: number; status: ConsentStatus }[]).map((c) => [c.topic_id, c.status]));
}

/** The statement's text, built once: the same text every time, as a named statement must be. */
let pageSql: string | undefined;

function preferencePageSql(db: DbOrTx): string {
  return `SELECT ${MEMBER_COLUMNS.map((c) => `m.${c}`).join(', ')},
     (SELECT coalesce(json_agg(o), '[]'::json) FROM (${offeredTopicsQuery(db).toQuery()}) o) AS page_topics,
     (SELECT coalesce(json_agg(json_build_object('topic_id', c.topic_id, 'status', c.status)), '[]'::json)
        FROM consents c WHERE c.member_id = m.id) AS page_consents,
     (SELECT max(p.effective_at) FROM consent_ledger e JOIN policy_versions p ON p.id = e.policy_version_id
        WHERE e.member_id = m.id) AS page_seen,
     (SELECT coalesce(json_agg(json_build_object('topic_id', b.topic_id, 'at', b.at, 'archive', b.archive)), '[]'::json)
        FROM (SELECT topic_id, max(started_at) AS at, bool_or(web_version) AS archive FROM bulletins
               WHERE started_at IS NOT NULL GROUP BY topic_id) b) AS page_sent,
     (SELECT json_build_object('version', v.version, 'effective_at', v.effective_at)
        FROM (${upcomingPolicyQuery(db).limit(1).toQuery()}) v) AS page_banner
   FROM members m WHERE m.id = ? AND m.status = 'active'`;
}

/**
 * The active member's row with everything their preference page shows, the policy banner
 * included, in ONE statement (one round trip instead of six: the page is read on every e-mail
 * link followed). Undefined when there is no such active member.
 */
export async function preferencePageData(db: DbOrTx, memberId: string): Promise<PreferencePageData | undefined> {
  if (!isUuid(memberId)) return undefined;
  const { rows } = await db
    .raw<{ rows: Record<string, unknown>[] }>((pageSql ??= preferencePageSql(db)), [memberId])
    // A named statement: each connection prepares it once and PostgreSQL keeps its plan, which
    // otherwise costs more than running it.
    .options({ name: 'preference_page' });
  const row = rows[0];
  if (!row) return undefined;
  const { page_topics, page_consents, page_seen, page_sent, page_banner, ...member } = row;
  const banner = page_banner as { version: string; effective_at: string } | null;
  return {
    member: member as unknown as MemberRow,
    topics: topicsFromJson(page_topics),
    consents: statusesFromJson(page_consents),
    seen: (page_seen as Date | null) ?? null,
    sent: new Map(
      (page_sent as { topic_id: number; at: string; archive: boolean }[]).map((b) => [
        b.topic_id,
        { lastSentAt: new Date(b.at), hasArchive: b.archive },
      ]),
    ),
    upcomingPolicy: banner && { version: banner.version, effective_at: new Date(banner.effective_at) },
  };
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

/** Appends the ledger event and moves the current state to it, in one statement (consentEventsCte). */
export async function recordConsentEvent(db: DbOrTx, e: ConsentEvent): Promise<void> {
  await recordConsentEvents(db, consentEventsCte(e.memberId, [{ topicId: e.topicId, from: e.from, to: e.to }], e));
}

/**
 * The ledger events of one member's change and the current state moved to them, as data-modifying
 * CTEs ("event", "state") that the caller puts in front of the statement that queues the
 * confirmation e-mail: the change and its confirmation are one statement (C14).
 */
export function consentEventsCte(
  memberId: string,
  events: { topicId: number; from: ConsentStatus | null; to: ConsentStatus }[],
  e: Pick<ConsentEvent, 'source' | 'channel' | 'policyVersionId' | 'reference' | 'viaBulletinId' | 'apiKeyId'>,
): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: `event AS (
       INSERT INTO consent_ledger (member_id, topic_id, from_status, to_status, source, channel, policy_version_id, request_reference, via_bulletin_id, api_key_id)
       SELECT ?::uuid, e.topic_id, e.from_status, e.to_status, ?, ?, ?, ?, (SELECT id FROM bulletins WHERE id = ?), ?
       FROM json_to_recordset(?::json) AS e(n integer, topic_id integer, from_status text, to_status text)
       ORDER BY e.n
       RETURNING id, member_id, topic_id, to_status, policy_version_id
     ), state AS (
       INSERT INTO consents (member_id, topic_id, status, policy_version_id, last_event_id, updated_at)
       SELECT member_id, topic_id, to_status, policy_version_id, id, now() FROM event
       ON CONFLICT (member_id, topic_id) DO UPDATE
         SET status = EXCLUDED.status, policy_version_id = EXCLUDED.policy_version_id,
             last_event_id = EXCLUDED.last_event_id, updated_at = EXCLUDED.updated_at
       RETURNING 1
     )`,
    bindings: [
      memberId,
      e.source,
      e.channel,
      e.policyVersionId,
      e.reference ?? null,
      e.viaBulletinId ?? null,
      e.apiKeyId ?? null,
      JSON.stringify(events.map((x, n) => ({ n, topic_id: x.topicId, from_status: x.from, to_status: x.to }))),
    ],
  };
}

/** The events of consentEventsCte on their own, when there is no e-mail to queue with them. */
export async function recordConsentEvents(db: DbOrTx, cte: { sql: string; bindings: Knex.RawBinding[] }): Promise<void> {
  await db.raw(`WITH ${cte.sql} SELECT (SELECT count(*) FROM event), (SELECT count(*) FROM state)`, cte.bindings);
}

/**
 * One member's ledger events joined to their topic (alias t), the policy version they were made
 * under (p) and the API key that recorded them, if any (ak); callers choose the columns and order.
 */
export function ledgerOf(db: DbOrTx, memberId: string) {
  return db('consent_ledger as e')
    .join('topics as t', 't.id', 'e.topic_id')
    .join('policy_versions as p', 'p.id', 'e.policy_version_id')
    .leftJoin('api_keys as ak', 'ak.id', 'e.api_key_id')
    .where('e.member_id', memberId);
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
