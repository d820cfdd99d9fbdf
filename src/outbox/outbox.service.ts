import { inTransaction } from '../db.js';
import { addSendJob } from '../mail/outbox.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import { countOutboxByStatus, emailMessageExists, listOutbox, requeueFailed, type OutboxListRow } from './outbox.repository.js';
import type { EmailStatus } from '../mail/outbox.repository.js';
import { appendAudit } from '../audit/audit.repository.js';

/**
 * An admin retries a message that failed for good: it goes back to queued and gets a send job
 * again, both in one transaction with the audit entry. It is still sent at most once: only a
 * failed message can be requeued (checked in the UPDATE, so two retries cannot both win), the job
 * key is the message's, so there is never a second job for it, and the send task leaves alone any
 * message that is no longer queued. The last error stays visible until the new attempt replaces it.
 */
export async function retryFailedEmail(svc: ServiceContext, staffUserId: string, emailId: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const row = await requeueFailed(trx, emailId);
    if (!row) {
      if (!(await emailMessageExists(trx, emailId))) throw new NotFoundError('We could not find that message.');
      throw new ConflictError('Only a failed message can be retried. This one is queued, sent or cancelled.');
    }
    await addSendJob(trx, row.id, svc.outbox.maxAttempts);
    await appendAudit(trx, { staffUserId, action: 'email.retried', memberId: row.member_id, details: { emailId: row.id } });
  });
}

export const OUTBOX_PAGE_SIZE = 50;

/** One page of the outbox, newest first, with the count in each status. */
export async function outboxPage(
  svc: ServiceContext,
  q: { status: EmailStatus | undefined; page: number },
): Promise<{ messages: OutboxListRow[]; counts: Record<EmailStatus, number>; hasNext: boolean }> {
  const [rows, counts] = await Promise.all([
    listOutbox(svc.db, { status: q.status, limit: OUTBOX_PAGE_SIZE + 1, offset: (q.page - 1) * OUTBOX_PAGE_SIZE }),
    countOutboxByStatus(svc.db),
  ]);
  return { messages: rows.slice(0, OUTBOX_PAGE_SIZE), counts, hasNext: rows.length > OUTBOX_PAGE_SIZE };
}
