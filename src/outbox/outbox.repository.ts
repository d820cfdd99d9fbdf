import type { DbOrTx } from '../db.js';
import type { EmailStatus } from '../mail/outbox.repository.js';

export const EMAIL_STATUSES: readonly EmailStatus[] = ['queued', 'sent', 'failed', 'cancelled'];

/** One outbox message as the staff list shows it: no bodies, no headers. */
export interface OutboxListRow {
  id: string;
  kind: string;
  recipient: string | null;
  subject: string;
  status: EmailStatus;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
}

/** One page of messages, newest first; one row more than asked tells whether there is a next page. */
export async function listOutbox(db: DbOrTx, q: { status?: EmailStatus; limit: number; offset: number }): Promise<OutboxListRow[]> {
  const query = db('email_messages')
    .select('id', 'kind', 'recipient', 'subject', 'status', 'attempts', 'last_error', 'created_at', 'sent_at')
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(q.limit)
    .offset(q.offset);
  if (q.status) query.where({ status: q.status });
  return query as unknown as Promise<OutboxListRow[]>;
}

/** How many messages are in each status (all four, zero included). */
export async function countOutboxByStatus(db: DbOrTx): Promise<Record<EmailStatus, number>> {
  const rows = (await db('email_messages').select('status').count({ n: '*' }).groupBy('status')) as { status: EmailStatus; n: number }[];
  const counts = Object.fromEntries(EMAIL_STATUSES.map((s) => [s, 0])) as Record<EmailStatus, number>;
  for (const r of rows) counts[r.status] = Number(r.n);
  return counts;
}

/**
 * Puts a failed message back in the queue. The status check is in the UPDATE itself, so of two
 * retries racing only one finds it failed; undefined means it was not failed (or does not exist).
 */
export async function requeueFailed(db: DbOrTx, id: string): Promise<{ id: string; member_id: string | null } | undefined> {
  const [row] = (await db('email_messages')
    .where({ id, status: 'failed' })
    .update({ status: 'queued', updated_at: db.fn.now() })
    .returning(['id', 'member_id'])) as { id: string; member_id: string | null }[];
  return row;
}

export async function emailMessageExists(db: DbOrTx, id: string): Promise<boolean> {
  return (await db('email_messages').where({ id }).first('id')) !== undefined;
}
