import type { DbOrTx } from '../db.js';

export type FeedbackKind = 'hard_bounce' | 'soft_bounce' | 'complaint' | 'delivery';
export type FeedbackOutcome = 'recorded' | 'marked_undeliverable' | 'opted_out' | 'counted' | 'reset' | 'no_member';

export interface MailFeedbackRow {
  id: number;
  provider: 'ses' | 'postmark';
  kind: FeedbackKind;
  detail: string;
  member_id: string | null;
  email_message_id: string | null;
  outcome: FeedbackOutcome;
  received_at: Date;
}

/** Records a report once; a repeat (the provider retried, or SNS delivered twice) returns undefined. */
export async function insertFeedback(
  db: DbOrTx,
  row: { provider: string; provider_event_id: string; kind: FeedbackKind; detail: string },
): Promise<number | undefined> {
  const [r] = (await db('mail_feedback')
    .insert({ ...row, detail: row.detail.slice(0, 100) })
    .onConflict(['provider', 'provider_event_id', 'kind'])
    .ignore()
    .returning('id')) as { id: number }[];
  return r?.id;
}

export async function settleFeedback(
  db: DbOrTx,
  id: number,
  r: { memberId: string | null; emailMessageId: string | null; outcome: FeedbackOutcome },
): Promise<void> {
  await db('mail_feedback').where({ id }).update({ member_id: r.memberId, email_message_id: r.emailMessageId, outcome: r.outcome });
}

/** The message a report is about, by the Message-ID it was sent with. */
export async function findMessageByMessageId(db: DbOrTx, messageId: string): Promise<{ id: string; member_id: string | null } | undefined> {
  return db('email_messages').where({ message_id: messageId }).first('id', 'member_id');
}

/** Marks the message: a hard bounce is never downgraded by a later soft one. */
export async function markMessageFeedback(db: DbOrTx, id: string, kind: FeedbackKind): Promise<void> {
  if (kind === 'hard_bounce') await db('email_messages').where({ id }).update({ bounce: 'hard' });
  else if (kind === 'soft_bounce') await db('email_messages').where({ id }).whereNull('bounce').update({ bounce: 'soft' });
  else if (kind === 'complaint') await db('email_messages').where({ id }).whereNull('complained_at').update({ complained_at: db.fn.now() });
}

/** The member whose address this is now (active or not yet confirmed), locked for the change. */
export async function lockMemberByAddress(
  db: DbOrTx,
  address: string,
): Promise<{ id: string; status: string; email_undeliverable_at: Date | null } | undefined> {
  return db('members').where({ email: address }).whereNot('status', 'erased').forUpdate().first('id', 'status', 'email_undeliverable_at');
}

/** One more temporary failure in a row; returns the count. */
export async function countSoftBounce(db: DbOrTx, memberId: string): Promise<number> {
  const [r] = (await db('members').where({ id: memberId }).increment('soft_bounces_in_row', 1).returning('soft_bounces_in_row')) as {
    soft_bounces_in_row: number;
  }[];
  return r!.soft_bounces_in_row;
}

export async function resetSoftBounces(db: DbOrTx, memberId: string): Promise<void> {
  await db('members').where({ id: memberId }).where('soft_bounces_in_row', '>', 0).update({ soft_bounces_in_row: 0 });
}

/** What the sending service reported about a member's mail, newest first: for the member's record. */
export async function feedbackOf(db: DbOrTx, memberId: string, limit = 20): Promise<MailFeedbackRow[]> {
  return db('mail_feedback')
    .where({ member_id: memberId })
    .whereNot('kind', 'delivery')
    .orderBy('received_at', 'desc')
    .limit(limit)
    .select('id', 'provider', 'kind', 'detail', 'member_id', 'email_message_id', 'outcome', 'received_at') as unknown as Promise<
    MailFeedbackRow[]
  >;
}
