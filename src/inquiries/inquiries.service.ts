import { appendAudit } from '../audit/audit.repository.js';
import { queueMail, type ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { isUuid } from '../shared/ids.js';
import { checkLimits, type Limit } from '../shared/rate-limit.js';
import { inquiryReplyEmail } from './inquiries.emails.js';
import {
  findInquiry,
  insertInquiry,
  insertReply,
  listInquiries,
  listReplies,
  lockInquiry,
  setInquiryStatus,
  type InquiryReplyRow,
  type InquiryRow,
} from './inquiries.repository.js';
import type { InquiryForm } from './inquiries.schemas.js';

/**
 * Questions from the public (C12, second half): contact data given with an inquiry is used only to
 * answer it. Inquiries live in their own tables, never joined to member records; staff answer them
 * by e-mail through the outbox; every staff view is audited; a closed inquiry is deleted after
 * INQUIRY_RETENTION_DAYS.
 */
const PER_ADDRESS: Limit = { action: 'inquiry:address', windowSeconds: 3600, max: 3 };
const PER_NETWORK: Limit = { action: 'inquiry:network', windowSeconds: 3600, max: 10 };
export const INQUIRIES_SHOWN = 200;

export async function submitInquiry(svc: ServiceContext, input: InquiryForm, network: string): Promise<void> {
  await checkLimits(svc.db, [
    [PER_ADDRESS, input.email],
    [PER_NETWORK, network],
  ]);
  await insertInquiry(svc.db, input);
}

export function inquiriesForStaff(svc: ServiceContext) {
  return listInquiries(svc.db, INQUIRIES_SHOWN);
}

/** One inquiry with its replies, as staff open it: every opening is in the audit log (C11, C12). */
export async function openInquiry(
  svc: ServiceContext,
  staffUserId: string,
  id: string,
  opts: { audit: boolean } = { audit: true },
): Promise<{ inquiry: InquiryRow; replies: InquiryReplyRow[] }> {
  const inquiry = isUuid(id) ? await findInquiry(svc.db, id) : undefined;
  if (!inquiry) throw new NotFoundError('There is no such question. It may have been deleted after it was closed.');
  if (opts.audit) await appendAudit(svc.db, { staffUserId, action: 'inquiry.viewed', details: { inquiryId: id } });
  return { inquiry, replies: await listReplies(svc.db, id) };
}

/** Answers by e-mail: the reply, its message and the audit entry commit together (as C14 asks of changes). */
export async function replyToInquiry(svc: ServiceContext, staffUserId: string, id: string, body: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const inquiry = isUuid(id) ? await lockInquiry(trx, id) : undefined;
    if (!inquiry) throw new NotFoundError('There is no such question.');
    if (inquiry.status === 'closed')
      throw new ConflictError('This question is closed. Reopening is not possible: ask them to write again.');
    const emailMessageId = await queueMail(trx, svc, inquiryReplyEmail(svc.mail, { to: inquiry.email, body, asked: inquiry.created_at }));
    await insertReply(trx, { inquiryId: id, staffUserId, body, emailMessageId });
    await setInquiryStatus(trx, id, 'answered');
    await appendAudit(trx, { staffUserId, action: 'inquiry.replied', details: { inquiryId: id } });
  });
}

export async function closeInquiry(svc: ServiceContext, staffUserId: string, id: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const inquiry = isUuid(id) ? await lockInquiry(trx, id) : undefined;
    if (!inquiry) throw new NotFoundError('There is no such question.');
    if (inquiry.status === 'closed') return;
    await setInquiryStatus(trx, id, 'closed');
    await appendAudit(trx, { staffUserId, action: 'inquiry.closed', details: { inquiryId: id } });
  });
}
