import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { isUuid } from '../shared/ids.js';
import { forgetSubject } from '../shared/rate-limit.js';
import { REMOVAL_COLUMNS, type RemovalRequestRow } from './removal.repository.js';

/**
 * Staff processing and carrying out of removal requests (C6): the queue, holds, the locks taken
 * while erasing, partner follow-ups, and the outbox scrubbing that keeps an erased address out of
 * every table. Writes that erase run inside the caller's transaction.
 */

/** What stands in for a scrubbed message: the row stays (status, times, Message-ID), its content does not. */
export const SCRUBBED_TEXT = '[removed: the recipient’s data was erased]';

/** Confirmed and held requests, the soonest due first. */
export async function listOpenQueue(db: DbOrTx): Promise<RemovalRequestRow[]> {
  return db<RemovalRequestRow>('removal_requests')
    .whereIn('status', ['confirmed', 'held'])
    .orderBy([{ column: 'due_at' }, { column: 'id' }])
    .select(...REMOVAL_COLUMNS);
}

export async function listRecentlyCompleted(db: DbOrTx, limit: number): Promise<RemovalRequestRow[]> {
  return db<RemovalRequestRow>('removal_requests')
    .where({ status: 'completed' })
    .orderBy([
      { column: 'completed_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(limit)
    .select(...REMOVAL_COLUMNS);
}

/** The request, locked until the transaction ends; a malformed id is simply not found. */
export async function lockRequest(trx: Knex.Transaction, id: string): Promise<RemovalRequestRow | undefined> {
  if (!isUuid(id)) return undefined;
  return trx<RemovalRequestRow>('removal_requests')
    .where({ id })
    .forUpdate()
    .first(...REMOVAL_COLUMNS);
}

/**
 * The next confirmed request whose due date has passed, locked; rows another worker holds are
 * skipped (SKIP LOCKED), so several workers share the queue. Held requests are never picked.
 */
export async function lockNextDueRequest(trx: Knex.Transaction, skip: readonly string[]): Promise<RemovalRequestRow | undefined> {
  const q = trx<RemovalRequestRow>('removal_requests')
    .where({ status: 'confirmed' })
    .where('due_at', '<=', trx.fn.now())
    .orderBy([{ column: 'due_at' }, { column: 'id' }])
    .forUpdate()
    .skipLocked()
    .first(...REMOVAL_COLUMNS);
  if (skip.length) q.whereNotIn('id', skip);
  return q;
}

export async function holdRequest(db: DbOrTx, id: string, reason: string): Promise<void> {
  await db('removal_requests').where({ id, status: 'confirmed' }).update({ status: 'held', hold_reason: reason });
}

/** Back to confirmed with its due date kept; the hold reason stays on record. */
export async function releaseRequest(db: DbOrTx, id: string): Promise<void> {
  await db('removal_requests').where({ id, status: 'held' }).update({ status: 'confirmed' });
}

export async function completeRequest(db: DbOrTx, id: string): Promise<void> {
  await db('removal_requests').where({ id }).update({ status: 'completed', completed_at: db.fn.now() });
}

/** One follow-up per partner that ever received the member's data through a recorded disclosure. */
export async function openFollowUps(db: DbOrTx, requestId: string, memberId: string): Promise<{ partner_name: string }[]> {
  const { rows } = await db.raw<{ rows: { partner_name: string }[] }>(
    `WITH opened AS (
       INSERT INTO partner_follow_ups (removal_request_id, partner_id)
       SELECT DISTINCT ?::uuid, d.partner_id
       FROM disclosure_members dm JOIN disclosures d ON d.id = dm.disclosure_id
       WHERE dm.member_id = ?
       ON CONFLICT ON CONSTRAINT partner_follow_ups_once DO NOTHING
       RETURNING partner_id
     )
     SELECT p.name AS partner_name FROM opened o JOIN partners p ON p.id = o.partner_id ORDER BY p.name`,
    [requestId, memberId],
  );
  return rows;
}

/** Every topic the member is not already opted out of, with the policy version to record it under. */
export async function topicsToOptOut(
  db: DbOrTx,
  memberId: string,
): Promise<{ topic_id: number; from_status: 'opted_in' | null; introduced_in_policy_version_id: number }[]> {
  return db('topics as t')
    .leftJoin('consents as c', function () {
      this.on('c.topic_id', 't.id').andOn('c.member_id', db.raw('?', [memberId]));
    })
    .where((q) => q.whereNull('c.status').orWhere('c.status', 'opted_in'))
    .orderBy('t.id')
    .select('t.id as topic_id', 'c.status as from_status', 't.introduced_in_policy_version_id');
}

function likePattern(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Scrubs every earlier message that names the member or the address: the member's own mail, mail
 * sent to the address (sign-up confirmations), and any message whose text mentions it (another
 * member's change notice). Still-queued ones are cancelled first, so the worker never sends them.
 * The message just queued to say the erasure is done is left alone.
 */
export async function scrubMessagesOf(db: DbOrTx, memberId: string, email: string, keepId: string | null): Promise<number> {
  const pattern = likePattern(email);
  const q = db('email_messages')
    .where((w) =>
      w
        .where('member_id', memberId)
        .orWhere('recipient', email)
        .orWhereILike('subject', pattern)
        .orWhereILike('text_body', pattern)
        .orWhereILike('html_body', pattern)
        .orWhereRaw('headers::text ILIKE ?', [pattern]),
    )
    .update({
      status: db.raw(`CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END`),
      last_error: db.raw(`CASE WHEN status = 'queued' THEN 'recipient erased' WHEN last_error ILIKE ? THEN ? ELSE last_error END`, [
        pattern,
        SCRUBBED_TEXT,
      ]),
      ...scrubbedContent(db),
    });
  if (keepId) q.whereNot('id', keepId);
  return q;
}

function scrubbedContent(db: DbOrTx) {
  return {
    recipient: null,
    subject: SCRUBBED_TEXT,
    text_body: SCRUBBED_TEXT,
    html_body: `<p>${SCRUBBED_TEXT}</p>`,
    headers: JSON.stringify({}),
    updated_at: db.fn.now(),
  };
}

/**
 * The message that tells a member their data is erased is the one place the address outlives the
 * erasure; once it has been sent (or has finally failed) its content goes too.
 */
export async function scrubMessage(db: DbOrTx, id: string): Promise<void> {
  await db('email_messages')
    .where({ id })
    .whereNot('status', 'queued')
    .update({ ...scrubbedContent(db), last_error: db.raw(`CASE WHEN last_error IS NULL THEN NULL ELSE ? END`, [SCRUBBED_TEXT]) });
}

/** Removes what remains linked to the member besides the row itself: sessions, links, notes, sign-ups, rate-limit counters. */
export async function deleteMemberTraces(db: DbOrTx, memberId: string, email: string): Promise<void> {
  await db('sessions')
    .whereRaw(`sess -> 'passport' -> 'user' ->> 'kind' = 'member' AND sess -> 'passport' -> 'user' ->> 'id' = ?`, [memberId])
    .delete();
  await db('member_tokens').where({ member_id: memberId }).delete();
  await db('pending_signups').where({ email }).delete();
  await db('staff_change_notes').where({ member_id: memberId }).delete();
  await forgetSubject(db, email);
}

/** Nulls the personal data; the members_erased_hold_no_personal_data check refuses anything less. */
export async function eraseMemberRow(db: DbOrTx, memberId: string): Promise<void> {
  await db('members').where({ id: memberId }).update({
    email: null,
    name: null,
    postal_address: null,
    phone: null,
    password_hash: null,
    email_undeliverable_at: null,
    status: 'erased',
    erased_at: db.fn.now(),
    updated_at: db.fn.now(),
  });
}

export interface FollowUpRow {
  id: string;
  removal_request_id: string;
  partner_name: string;
  created_at: Date;
  done_at: Date | null;
  done_by_name: string | null;
}

function followUps(db: DbOrTx) {
  return db('partner_follow_ups as f')
    .join('partners as p', 'p.id', 'f.partner_id')
    .leftJoin('staff_users as s', 's.id', 'f.done_by')
    .select('f.id', 'f.removal_request_id', 'p.name as partner_name', 'f.created_at', 'f.done_at', 's.name as done_by_name');
}

export async function listOpenFollowUps(db: DbOrTx): Promise<FollowUpRow[]> {
  return followUps(db)
    .whereNull('f.done_at')
    .orderBy([{ column: 'f.created_at' }, { column: 'f.id' }]) as Promise<FollowUpRow[]>;
}

export async function listDoneFollowUps(db: DbOrTx, limit: number): Promise<FollowUpRow[]> {
  return followUps(db)
    .whereNotNull('f.done_at')
    .orderBy([
      { column: 'f.done_at', order: 'desc' },
      { column: 'f.id', order: 'desc' },
    ])
    .limit(limit) as Promise<FollowUpRow[]>;
}

export async function findFollowUpForUpdate(
  trx: Knex.Transaction,
  id: string,
): Promise<{ id: string; removal_request_id: string; partner_id: number; done_at: Date | null } | undefined> {
  if (!isUuid(id)) return undefined;
  return trx('partner_follow_ups').where({ id }).forUpdate().first('id', 'removal_request_id', 'partner_id', 'done_at');
}

export async function markFollowUpDone(db: DbOrTx, id: string, staffUserId: string): Promise<void> {
  await db('partner_follow_ups').where({ id }).whereNull('done_at').update({ done_at: db.fn.now(), done_by: staffUserId });
}

/**
 * Deliverability (C12), kept beside suppression: an address that was finally refused with a
 * permanent (5xx) answer is marked undeliverable while it is still the member's address.
 */
export async function markAddressUndeliverable(db: DbOrTx, recipient: string): Promise<void> {
  await db('members').where({ email: recipient }).whereNull('email_undeliverable_at').update({ email_undeliverable_at: db.fn.now() });
}

/** A newly verified address has not bounced. */
export async function clearUndeliverable(db: DbOrTx, memberId: string): Promise<void> {
  await db('members').where({ id: memberId }).whereNotNull('email_undeliverable_at').update({ email_undeliverable_at: null });
}
