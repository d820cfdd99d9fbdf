import type { DbOrTx } from '../db.js';
import { scrubbedContent } from '../mail/outbox.repository.js';

/**
 * Inquiries and their replies (C12). Every query here stays inside these two tables (and the
 * outbox rows of the replies): nothing reads or joins a member record.
 */
export type InquirySubject = 'data_question' | 'removal' | 'other';
export type InquiryStatus = 'open' | 'answered' | 'closed';

export interface InquiryRow {
  id: string;
  name: string;
  email: string;
  subject: InquirySubject;
  message: string;
  status: InquiryStatus;
  created_at: Date;
  closed_at: Date | null;
}

export interface InquiryReplyRow {
  id: number;
  staff_name: string | null;
  body: string;
  created_at: Date;
}

export async function insertInquiry(
  db: DbOrTx,
  i: { name: string; email: string; subject: InquirySubject; message: string },
): Promise<string> {
  const [row] = await db('inquiries').insert(i).returning('id');
  return (row as { id: string }).id;
}

/** Open and answered first (oldest waiting first), then the recently closed. */
export async function listInquiries(db: DbOrTx, limit: number): Promise<Omit<InquiryRow, 'message'>[]> {
  return db('inquiries')
    .select('id', 'name', 'email', 'subject', 'status', 'created_at', 'closed_at')
    .orderByRaw(`status = 'closed', CASE WHEN status = 'closed' THEN NULL ELSE created_at END, closed_at DESC`)
    .limit(limit);
}

export async function findInquiry(db: DbOrTx, id: string): Promise<InquiryRow | undefined> {
  return db<InquiryRow>('inquiries').where({ id }).first();
}

export async function lockInquiry(db: DbOrTx, id: string): Promise<InquiryRow | undefined> {
  return db<InquiryRow>('inquiries').where({ id }).forUpdate().first();
}

export async function listReplies(db: DbOrTx, inquiryId: string): Promise<InquiryReplyRow[]> {
  return db('inquiry_replies as r')
    .leftJoin('staff_users as s', 's.id', 'r.staff_user_id')
    .where('r.inquiry_id', inquiryId)
    .orderBy('r.created_at')
    .select('r.id', 's.name as staff_name', 'r.body', 'r.created_at');
}

export async function insertReply(
  db: DbOrTx,
  r: { inquiryId: string; staffUserId: string; body: string; emailMessageId: string },
): Promise<void> {
  await db('inquiry_replies').insert({
    inquiry_id: r.inquiryId,
    staff_user_id: r.staffUserId,
    body: r.body,
    email_message_id: r.emailMessageId,
  });
}

export async function setInquiryStatus(db: DbOrTx, id: string, status: InquiryStatus): Promise<void> {
  await db('inquiries')
    .where({ id })
    .update({ status, closed_at: status === 'closed' ? db.fn.now() : null });
}

/**
 * Deletes the inquiries closed more than `days` ago, replies included, and scrubs the e-mails that
 * carried the replies: nothing of the inquirer is kept once the question is done with.
 */
export async function purgeClosedInquiries(db: DbOrTx, days: number): Promise<number> {
  const expired = db('inquiries')
    .where('status', 'closed')
    .where('closed_at', '<', db.raw('now() - make_interval(days => ?)', [days]));
  await db('email_messages')
    .whereIn(
      'id',
      db('inquiry_replies').whereIn('inquiry_id', expired.clone().select('id')).whereNotNull('email_message_id').select('email_message_id'),
    )
    .update({ ...scrubbedContent(db), last_error: null });
  return expired.delete();
}
