import type { DbOrTx } from '../db.js';
import { suppressedInSql, type SuppressionKeys } from '../shared/suppression.js';
import { slotCtes, type SendRate } from './send-rate.js';

export type EmailStatus = 'queued' | 'sent' | 'failed' | 'cancelled';

export interface EmailMessageRow {
  id: string;
  kind: string;
  recipient: string | null;
  member_id: string | null;
  topic_id: number | null;
  message_id: string;
  subject: string;
  text_body: string;
  html_body: string;
  headers: Record<string, string>;
  status: EmailStatus;
  attempts: number;
  last_error: string | null;
  sent_at: Date | null;
  created_at: Date;
  reaches_suppressed: boolean;
  scrub_after_send: boolean;
  /** Waits to be released (a paced bulk send not yet at it, or paused): a send job leaves it. */
  held: boolean;
  /** Counts against the shared send rate and waits for its slot (mail/send-rate.ts). */
  rate_limited: boolean;
  cancel_reason: CancelReason | null;
  /** Ended failed on a permanent (5xx) refusal: the address bounced. */
  refused_permanently: boolean;
  /** The bulletin the message is a copy of (its dispatcher finds its messages by it). */
  bulletin_id: number | null;
}

/** Why a message was cancelled, as a code (counted by progress pages) with its text for last_error. */
export type CancelReason = 'opted_out' | 'suppressed' | 'no_address' | 'withdrawn';
export const CANCEL_TEXT: Record<CancelReason, string> = {
  opted_out: 'recipient opted out before sending',
  suppressed: 'suppressed',
  no_address: 'no deliverable address',
  withdrawn: 'withdrawn before sending',
};

export async function insertEmailMessage(
  db: DbOrTx,
  row: Pick<
    EmailMessageRow,
    'id' | 'kind' | 'recipient' | 'member_id' | 'topic_id' | 'message_id' | 'subject' | 'text_body' | 'html_body' | 'headers'
  > &
    Partial<Pick<EmailMessageRow, 'reaches_suppressed' | 'scrub_after_send'>>,
): Promise<void> {
  await db('email_messages').insert({ ...row, headers: JSON.stringify(row.headers) });
}

/** What a send needs of its row, by name: a prepared statement's columns must not move when the table gains one. */
const SEND_COLUMNS = [
  'id',
  'kind',
  'recipient',
  'member_id',
  'topic_id',
  'message_id',
  'subject',
  'text_body',
  'html_body',
  'headers',
  'status',
  'reaches_suppressed',
  'scrub_after_send',
  'held',
  'rate_limited',
] as const;

/** A message about to be sent, with what decides whether it still may be (C3, C6). */
export interface MessageToSend extends Pick<EmailMessageRow, (typeof SEND_COLUMNS)[number]> {
  /** On the suppression list under any lookup key, as PostgreSQL hashes the recipient (see hashableInSql). */
  suppressed: boolean;
  /** Not a topic's mail, or the member is still opted in to the topic. */
  still_opted_in: boolean;
}

/**
 * The consent re-check is a probe of the member's one consents row (its primary key), never a test
 * PostgreSQL may turn into a scan: an EXISTS under OR may be planned as a hashed sub-plan that
 * reads every opted-in consent of every topic for each statement, and is whenever the table's
 * statistics still say it is small (a database just filled by an import, before autovacuum has
 * analysed it): 3.5 ms a read of a few messages against 0.36 ms (the bulletin bench, 10,000 members).
 */
const MESSAGES_TO_SEND = `SELECT ${SEND_COLUMNS.map((c) => `e.${c}`).join(', ')},
       e.recipient IS NOT NULL AND ${suppressedInSql('e.recipient')} AS suppressed,
       e.topic_id IS NULL OR e.member_id IS NULL OR coalesce((
         SELECT c.status = 'opted_in' FROM consents c WHERE c.member_id = e.member_id AND c.topic_id = e.topic_id
       ), false) AS still_opted_in
     FROM email_messages e WHERE e.id = ANY(CAST(:ids AS uuid[]))`;

/**
 * The same, taking the send slots of the rate-limited messages that are to go now, as many as the
 * rate leaves room for (in id order). Its commit does not wait for the write-ahead log to reach
 * the disk (`async_commit`): every send takes its slots in the same row (this second's), and each
 * taker waited for the one before it to commit, flush included, which made the slot the queue
 * every send of a bulletin stood in. The statement writes nothing but the slots, so all a
 * PostgreSQL crash can cost is the last moment's slots being forgotten (a fraction of a second of
 * sends counted again after the restart): the limits are a courtesy to the relay, the message's own
 * state is written durably by its send.
 */
const MESSAGES_TO_SEND_WITH_SLOTS = `WITH m AS (${MESSAGES_TO_SEND}),
  goes AS (
    SELECT m.id, row_number() OVER (ORDER BY m.id) AS n FROM m
    WHERE m.rate_limited AND m.status = 'queued' AND NOT m.held AND m.recipient IS NOT NULL
      AND (m.reaches_suppressed OR NOT m.suppressed) AND m.still_opted_in
  ), ${slotCtes('(SELECT count(*) FROM goes)')},
  async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
  SELECT m.*, coalesce(goes.n <= (SELECT granted FROM slot), false) AS slot_taken
  FROM m LEFT JOIN goes ON goes.id = m.id, async_commit`;

/** A message as a send reads it; with the send rate given, whether it got its slot. */
export type ReadMessage = MessageToSend & { slot_taken?: boolean };

/**
 * The rows, the suppression checks and the consent checks of sends, in one statement however many
 * messages (the send task reads the messages of the jobs running together at once, see
 * message-reads.ts), named (every send asks it, so each connection prepares it once). Given the
 * shared send rate, the rate-limited messages that are to go now (queued, released, addressed, not
 * suppressed, still opted in) also take their send slots in that statement: `slot_taken` false for
 * such a message means the rate is used up. A message PostgreSQL cannot hash the way we do (see
 * hashableInSql) may still turn out suppressed afterwards; its slot then stays unused, which only
 * ever sends less than the limit. Give it the pool, not a transaction: with the slots, its
 * transaction commits asynchronously.
 */
export async function findMessagesToSend(
  db: DbOrTx,
  ids: readonly string[],
  keys: SuppressionKeys,
  rate?: SendRate,
): Promise<ReadMessage[]> {
  const bindings = { ids: [...ids], suppressionKeys: [...keys.lookup] };
  const { rows } = await (rate
    ? db
        .raw<{ rows: (MessageToSend & { slot_taken: boolean })[] }>(MESSAGES_TO_SEND_WITH_SLOTS, {
          ...bindings,
          perSecond: rate.perSecond,
          perHour: rate.perHour,
        })
        .options({ name: 'messages_to_send_with_slots' })
    : db.raw<{ rows: MessageToSend[] }>(MESSAGES_TO_SEND, bindings).options({ name: 'messages_to_send' }));
  return rows;
}

/**
 * Marks messages sent, in one statement (sent-marks.ts batches them). A message withdrawn (its
 * bulletin cancelled) while its send was already under way has gone all the same: the row says
 * what happened.
 */
export async function markManySent(db: DbOrTx, sends: readonly { id: string; attempts: number }[]): Promise<void> {
  await db
    .raw(
      `UPDATE email_messages e
     SET status = 'sent', sent_at = now(), attempts = v.attempts, last_error = NULL, updated_at = now()
     FROM unnest(CAST(? AS uuid[]), CAST(? AS int[])) AS v(id, attempts)
     WHERE e.id = v.id AND (e.status = 'queued' OR (e.status = 'cancelled' AND e.cancel_reason = 'withdrawn'))`,
      [sends.map((x) => x.id), sends.map((x) => x.attempts)],
    )
    .options({ name: 'mark_sent' });
}

export async function markAttemptFailed(
  db: DbOrTx,
  id: string,
  attempts: number,
  error: string,
  final: boolean,
  permanent = false,
): Promise<void> {
  await db('email_messages')
    .where({ id, status: 'queued' })
    .update({
      status: final ? 'failed' : 'queued',
      attempts,
      last_error: error.slice(0, 1000),
      refused_permanently: final && permanent,
      updated_at: db.fn.now(),
    });
}

export async function markCancelled(db: DbOrTx, id: string, reason: CancelReason): Promise<void> {
  await db('email_messages')
    .where({ id, status: 'queued' })
    .update({ status: 'cancelled', cancel_reason: reason, last_error: CANCEL_TEXT[reason], updated_at: db.fn.now() });
}

export type NewEmailMessage = Pick<
  EmailMessageRow,
  'id' | 'kind' | 'recipient' | 'member_id' | 'topic_id' | 'message_id' | 'subject' | 'text_body' | 'html_body' | 'headers'
> &
  Partial<Pick<EmailMessageRow, 'reaches_suppressed' | 'scrub_after_send' | 'held' | 'rate_limited' | 'bulletin_id'>>;

/** Many messages in one statement (a bulk send's batch); their send jobs are the caller's to add. */
export async function insertEmailMessages(db: DbOrTx, rows: readonly NewEmailMessage[]): Promise<void> {
  if (rows.length === 0) return;
  await db('email_messages').insert(rows.map((row) => ({ ...row, headers: JSON.stringify(row.headers) })));
}

/**
 * Deliverability (C12): an address that was finally refused with a permanent (5xx) answer is
 * marked undeliverable on the member whose address it still is, so audiences leave it out.
 */
/** Marks the member who has this address, if any, as undeliverable (C12); the ids of those newly marked. */
export async function markAddressUndeliverable(db: DbOrTx, recipient: string): Promise<string[]> {
  const rows = (await db('members')
    .where({ email: recipient })
    .whereNull('email_undeliverable_at')
    .update({ email_undeliverable_at: db.fn.now() })
    .returning('id')) as { id: string }[];
  return rows.map((r) => r.id);
}

/** What stands in for a scrubbed message: the row stays (status, times, Message-ID), its content does not. */
export const SCRUBBED_TEXT = '[removed: the recipient’s data was erased]';

/** The columns of a scrubbed message: no recipient, no content, no headers. */
export function scrubbedContent(db: DbOrTx) {
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
 * Scrubs a message marked scrub_after_send once it has been sent (or has finally failed): the
 * erasure's completion mail is the one place the address outlived the erasure (C6).
 */
export async function scrubMessage(db: DbOrTx, id: string): Promise<void> {
  await db('email_messages')
    .where({ id })
    .whereNot('status', 'queued')
    .update({ ...scrubbedContent(db), last_error: db.raw(`CASE WHEN last_error IS NULL THEN NULL ELSE ? END`, [SCRUBBED_TEXT]) });
}
