import type { DbOrTx } from '../db.js';
import { SCRUBBED_TEXT, scrubbedContent } from '../mail/outbox.repository.js';
import { forgetSubject } from '../shared/rate-limit.js';

/**
 * The writes of an erasure (C6): the ledger's opt-outs to record, the outbox scrubbing that keeps an
 * erased address out of every table, the traces deleted and the member row nulled. They run inside
 * the caller's transaction.
 */

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

/** Removes what remains linked to the member besides the row itself: sessions, links, notes, sign-ups, rate-limit counters. */
export async function deleteMemberTraces(db: DbOrTx, memberId: string, email: string): Promise<void> {
  await db('sessions')
    .whereRaw(`sess -> 'passport' -> 'user' ->> 'kind' = 'member' AND sess -> 'passport' -> 'user' ->> 'id' = ?`, [memberId])
    .delete();
  await db('member_tokens').where({ member_id: memberId }).delete();
  await db('pending_signups').where({ email }).delete();
  await db('used_signup_links').where({ member_id: memberId }).delete();
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
