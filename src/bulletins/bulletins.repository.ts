import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';

export type BulletinStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'sent' | 'cancelled';
export const BULLETIN_KINDS = ['newsletter', 'announcement', 'third_party_offer'] as const;

export interface BulletinRow {
  id: number;
  topic_id: number;
  subject: string;
  preheader: string;
  body: string;
  web_version: boolean;
  status: BulletinStatus;
  scheduled_at: Date | null;
  created_by: string;
  confirmed_by: string | null;
  audience_confirmed: number | null;
  started_at: Date | null;
  snapshot_finished_at: Date | null;
  finished_at: Date | null;
  cancelled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A bulletin with its topic, as pages and the sender need it. */
export interface BulletinWithTopic extends BulletinRow {
  topic_name: string;
  topic_slug: string;
  topic_kind: string;
  topic_retired: boolean;
}

function withTopic(db: DbOrTx) {
  return db('bulletins as b')
    .join('topics as t', 't.id', 'b.topic_id')
    .select(
      'b.*',
      't.name as topic_name',
      't.slug as topic_slug',
      't.kind as topic_kind',
      db.raw('t.retired_at IS NOT NULL AS topic_retired'),
    );
}

export async function findBulletin(db: DbOrTx, id: number): Promise<BulletinWithTopic | undefined> {
  return withTopic(db).where('b.id', id).first() as Promise<BulletinWithTopic | undefined>;
}

/**
 * The bulletin row locked for this transaction. Pausing, resuming, cancelling and starting take it
 * exclusively; a snapshot batch and a dispatch share it, so they run side by side but never
 * across a pause or a cancel.
 */
export async function lockBulletin(
  db: DbOrTx,
  id: number,
  mode: 'exclusive' | 'shared' = 'exclusive',
): Promise<BulletinWithTopic | undefined> {
  const q = db('bulletins').where({ id });
  const locked = await (mode === 'shared' ? q.forShare() : q.forUpdate()).first('id');
  return locked ? findBulletin(db, id) : undefined;
}

export async function listBulletins(db: DbOrTx): Promise<BulletinWithTopic[]> {
  return withTopic(db).orderBy([
    { column: 'b.updated_at', order: 'desc' },
    { column: 'b.id', order: 'desc' },
  ]) as Promise<BulletinWithTopic[]>;
}

/** Topics a bulletin may go to: current e-mail topics of the three sendable kinds (the database checks the same). */
export async function bulletinTopics(db: DbOrTx): Promise<{ id: number; name: string; kind: string }[]> {
  return db('topics')
    .whereNull('retired_at')
    .where({ channel: 'email' })
    .whereIn('kind', BULLETIN_KINDS)
    .orderBy([{ column: 'sort_order' }, { column: 'id' }])
    .select('id', 'name', 'kind');
}

export interface BulletinContent {
  topic_id: number;
  subject: string;
  preheader: string;
  body: string;
  web_version: boolean;
}

export async function insertBulletin(db: DbOrTx, c: BulletinContent & { created_by: string }): Promise<number> {
  const [row] = await db('bulletins').insert(c).returning('id');
  return (row as { id: number }).id;
}

/** Changes a draft; false when it is no longer a draft. */
export async function updateDraftBulletin(db: DbOrTx, id: number, c: BulletinContent): Promise<boolean> {
  return (
    (await db('bulletins')
      .where({ id, status: 'draft' })
      .update({ ...c, updated_at: db.fn.now() })) > 0
  );
}

export async function deleteDraftBulletin(db: DbOrTx, id: number): Promise<boolean> {
  return (await db('bulletins').where({ id, status: 'draft' }).delete()) > 0;
}

export async function setBulletinState(db: DbOrTx, id: number, patch: Partial<BulletinRow>): Promise<void> {
  await db('bulletins')
    .where({ id })
    .update({ ...patch, updated_at: db.fn.now() });
}

/** One member of the audience walk, with what decides whether they are sent the bulletin. */
export interface AudienceMember {
  id: string;
  email: string;
  name: string | null;
  undeliverable: boolean;
  chosen_at: Date;
}

/**
 * C12: the next members by id after the cursor who are active, confirmed, have an address and are
 * opted in to the topic now (keyset paging, stable whatever joins meanwhile). Undeliverable ones
 * come too, to be recorded as left out; suppression is checked per batch.
 */
export async function nextAudienceMembers(db: DbOrTx, topicId: number, after: string | null, limit: number): Promise<AudienceMember[]> {
  const q = db('consents as c')
    .join('members as m', 'm.id', 'c.member_id')
    .where({ 'c.topic_id': topicId, 'c.status': 'opted_in', 'm.status': 'active' })
    .whereNotNull('m.email')
    .whereNotNull('m.confirmed_at')
    .orderBy('m.id')
    .limit(limit)
    .select('m.id', 'm.email', 'm.name', db.raw('m.email_undeliverable_at IS NOT NULL AS undeliverable'), 'c.updated_at as chosen_at');
  if (after) q.where('m.id', '>', after);
  return q as unknown as Promise<AudienceMember[]>;
}

export interface RecipientClaim {
  member_id: string;
  email_message_id: string | null;
  left_out_reason: 'suppressed' | 'undeliverable' | null;
}

/**
 * Claims recipients for the bulletin; returns the members claimed now. The primary key skips anyone
 * a run of this batch already claimed (their message exists already). The message rows are inserted
 * after, in the same transaction (the foreign key is checked at commit).
 */
export async function claimRecipients(db: DbOrTx, bulletinId: number, rows: RecipientClaim[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const claimed = (await db('bulletin_recipients')
    .insert(rows.map((r) => ({ bulletin_id: bulletinId, ...r })))
    .onConflict(['bulletin_id', 'member_id'])
    .ignore()
    .returning('member_id')) as { member_id: string }[];
  return new Set(claimed.map((r) => r.member_id));
}

/**
 * The bulletin's messages still queued: released (with a send job; at most the release window)
 * and held, counted up to `heldUpTo` (all a dispatch needs to know: none, or how many it may
 * release). Read through email_messages_bulletin_idx: only the rows counted, not every recipient.
 */
export async function queuedCounts(db: DbOrTx, bulletinId: number, heldUpTo: number): Promise<{ held: number; released: number }> {
  const { rows } = await db.raw<{ rows: { held: number; released: number }[] }>(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM email_messages
               WHERE bulletin_id = :b AND status = 'queued' AND held LIMIT :upTo) h)::int AS held,
            (SELECT count(*) FROM email_messages WHERE bulletin_id = :b AND status = 'queued' AND NOT held)::int AS released`,
    { b: bulletinId, upTo: heldUpTo },
  );
  return rows[0]!;
}

type MessageStatus = 'queued' | 'failed';

/**
 * An UPDATE of the bulletin's messages in `status`, narrowed by `pick` (held or not, in order, a
 * limit). The status is checked on the changed row as well as in the subquery that picks it: a
 * send or a retry that commits while the UPDATE waits for the row is re-checked only against the
 * UPDATE's own conditions, so without it a message sent meanwhile would be withdrawn or held
 * after the fact, or one requeued meanwhile requeued twice.
 */
function messagesOf(db: DbOrTx, bulletinId: number, status: MessageStatus, pick: (q: Knex.QueryBuilder) => Knex.QueryBuilder = (q) => q) {
  const picked = db('email_messages as e').where({ 'e.bulletin_id': bulletinId, 'e.status': status });
  return db('email_messages').where('status', status).whereIn('id', pick(picked).select('e.id'));
}

/** Releases up to n held messages (in member order); returns their ids, for their send jobs. */
export async function releaseHeld(db: DbOrTx, bulletinId: number, n: number): Promise<string[]> {
  const rows = (await messagesOf(db, bulletinId, 'queued', (q) => q.where('e.held', true).orderBy('e.member_id').limit(n))
    .update({ held: false, updated_at: db.fn.now() })
    .returning('id')) as { id: string }[];
  return rows.map((r) => r.id);
}

/** Pausing: released messages not yet sent are held again (their send jobs then leave them). */
export async function holdReleased(db: DbOrTx, bulletinId: number): Promise<number> {
  return messagesOf(db, bulletinId, 'queued', (q) => q.where('e.held', false)).update({ held: true, updated_at: db.fn.now() });
}

/** Cancelling: every message not yet sent is withdrawn. */
export async function withdrawQueued(db: DbOrTx, bulletinId: number): Promise<number> {
  return messagesOf(db, bulletinId, 'queued').update({
    status: 'cancelled',
    cancel_reason: 'withdrawn',
    last_error: 'withdrawn before sending',
    updated_at: db.fn.now(),
  });
}

/** Retrying: failed messages that were not refused for good go back in the queue, held for release. */
export async function requeueFailedOf(db: DbOrTx, bulletinId: number): Promise<number> {
  return messagesOf(db, bulletinId, 'failed', (q) => q.where('e.refused_permanently', false)).update({
    status: 'queued',
    held: true,
    updated_at: db.fn.now(),
  });
}

export interface BulletinCounts {
  recipients: number;
  messages: number;
  queued: number;
  held: number;
  sent: number;
  failed: number;
  bounced: number;
  left_suppressed: number;
  left_undeliverable: number;
  opted_out_since: number;
  suppressed_since: number;
  withdrawn: number;
  cancelled_other: number;
  sent_last_minute: number;
  /** Reported back by the sending service after it was sent (issue 12.4), matched by Message-ID. */
  bounced_after_sending: number;
  soft_bounced: number;
  complaints: number;
}

export async function bulletinCounts(db: DbOrTx, bulletinId: number): Promise<BulletinCounts> {
  return (await db('bulletin_recipients as r')
    .leftJoin('email_messages as e', 'e.id', 'r.email_message_id')
    .where('r.bulletin_id', bulletinId)
    .select(
      db.raw('count(*)::int AS recipients'),
      db.raw('count(r.email_message_id)::int AS messages'),
      db.raw(`count(*) FILTER (WHERE e.status = 'queued')::int AS queued`),
      db.raw(`count(*) FILTER (WHERE e.status = 'queued' AND e.held)::int AS held`),
      db.raw(`count(*) FILTER (WHERE e.status = 'sent')::int AS sent`),
      db.raw(`count(*) FILTER (WHERE e.status = 'failed')::int AS failed`),
      db.raw(`count(*) FILTER (WHERE e.status = 'failed' AND e.refused_permanently)::int AS bounced`),
      db.raw(`count(*) FILTER (WHERE r.left_out_reason = 'suppressed')::int AS left_suppressed`),
      db.raw(`count(*) FILTER (WHERE r.left_out_reason = 'undeliverable')::int AS left_undeliverable`),
      db.raw(`count(*) FILTER (WHERE e.status = 'cancelled' AND e.cancel_reason = 'opted_out')::int AS opted_out_since`),
      db.raw(`count(*) FILTER (WHERE e.status = 'cancelled' AND e.cancel_reason = 'suppressed')::int AS suppressed_since`),
      db.raw(`count(*) FILTER (WHERE e.status = 'cancelled' AND e.cancel_reason = 'withdrawn')::int AS withdrawn`),
      db.raw(
        `count(*) FILTER (WHERE e.status = 'cancelled' AND e.cancel_reason IS DISTINCT FROM 'opted_out'
           AND e.cancel_reason IS DISTINCT FROM 'suppressed' AND e.cancel_reason IS DISTINCT FROM 'withdrawn')::int AS cancelled_other`,
      ),
      db.raw(`count(*) FILTER (WHERE e.status = 'sent' AND e.sent_at > now() - interval '1 minute')::int AS sent_last_minute`),
      db.raw(`count(*) FILTER (WHERE e.status = 'sent' AND e.bounce = 'hard')::int AS bounced_after_sending`),
      db.raw(`count(*) FILTER (WHERE e.status = 'sent' AND e.bounce = 'soft')::int AS soft_bounced`),
      db.raw(`count(*) FILTER (WHERE e.complained_at IS NOT NULL)::int AS complaints`),
    )
    .first()) as BulletinCounts;
}

/** The reasons the bulletin's failed messages gave, most common first. */
export async function failureReasons(db: DbOrTx, bulletinId: number): Promise<{ reason: string; n: number; permanent: boolean }[]> {
  return db('bulletin_recipients as r')
    .join('email_messages as e', 'e.id', 'r.email_message_id')
    .where({ 'r.bulletin_id': bulletinId, 'e.status': 'failed' })
    .groupBy('e.last_error', 'e.refused_permanently')
    .orderBy('n', 'desc')
    .limit(20)
    .select('e.last_error as reason', 'e.refused_permanently as permanent', db.raw('count(*)::int AS n')) as unknown as Promise<
    { reason: string; n: number; permanent: boolean }[]
  >;
}

/** Members who opted out of the topic with this bulletin's own unsubscribe link (the link names it). */
export async function unsubscribedVia(db: DbOrTx, bulletinId: number): Promise<number> {
  const row = (await db('consent_ledger').where({ via_bulletin_id: bulletinId }).countDistinct({ n: 'member_id' }).first()) as {
    n: number;
  };
  return Number(row.n);
}

/** The public archive of a topic: its bulletins that have gone out with a web version, newest first. */
export async function archivedBulletins(db: DbOrTx, topicSlug: string): Promise<{ id: number; subject: string; started_at: Date }[]> {
  return db('bulletins as b')
    .join('topics as t', 't.id', 'b.topic_id')
    .where({ 't.slug': topicSlug, 'b.web_version': true })
    .whereNotNull('b.started_at')
    .orderBy('b.started_at', 'desc')
    .select('b.id', 'b.subject', 'b.started_at');
}

export async function findArchiveTopic(
  db: DbOrTx,
  slug: string,
): Promise<{ id: number; name: string; slug: string; description: string } | undefined> {
  return db('topics').where({ slug }).first('id', 'name', 'slug', 'description');
}
