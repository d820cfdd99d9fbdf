import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { BuiltEmail } from './email.js';
import { insertEmailMessage } from './outbox.repository.js';

export const SEND_EMAIL_TASK = 'send_email';

export interface OutboxOptions {
  /** Host part of Message-IDs: the public site's host name. */
  messageIdHost: string;
  maxAttempts: number;
}

/**
 * Puts a built e-mail in the outbox inside the caller's transaction: the message row and its
 * send job commit or roll back together with the change they report (C14). graphile-worker's
 * add_job is plain SQL, so it joins the transaction; the job key makes a second enqueue of
 * the same message a no-op.
 */
export async function enqueueEmail(trx: Knex.Transaction, email: BuiltEmail, opts: OutboxOptions): Promise<string> {
  const id = randomUUID();
  await insertEmailMessage(trx, {
    id,
    kind: email.kind,
    recipient: email.to,
    member_id: email.memberId,
    topic_id: email.topicId,
    message_id: `<${id}@${opts.messageIdHost}>`,
    subject: email.subject,
    text_body: email.text,
    html_body: email.html,
    headers: email.headers,
  });
  await trx.raw(`SELECT graphile_worker.add_job(?, json_build_object('id', ?::text), max_attempts => ?, job_key => ?)`, [
    SEND_EMAIL_TASK,
    id,
    opts.maxAttempts,
    `email:${id}`,
  ]);
  return id;
}
