import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbOrTx } from '../db.js';
import { addJob } from '../shared/queue.js';
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
 * send job commit or roll back together with the change they report (C14).
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
    reaches_suppressed: email.reachesSuppressed === true,
    scrub_after_send: email.scrubAfterSend === true,
  });
  await addSendJob(trx, id, opts.maxAttempts);
  return id;
}

/**
 * The send job of one message; its key is the message's, so a message never has two jobs. A later
 * run time defers it (a send waiting for its rate-limit slot adds its own job again this way).
 */
export function addSendJob(db: DbOrTx, emailId: string, maxAttempts: number, runAt?: Date): Promise<void> {
  return addJob(db, SEND_EMAIL_TASK, { id: emailId }, { maxAttempts, jobKey: `email:${emailId}`, runAt });
}

/** The send jobs of many messages in one statement (graphile-worker's add_jobs), keyed like addSendJob's. */
export async function addSendJobs(db: DbOrTx, emailIds: readonly string[], maxAttempts: number): Promise<void> {
  if (emailIds.length === 0) return;
  await db.raw(
    `SELECT graphile_worker.add_jobs(array_agg(
       ROW(?, json_build_object('id', id), NULL, NULL, ?, 'email:' || id, NULL, NULL)::graphile_worker.job_spec))
     FROM unnest(?::uuid[]) AS id`,
    [SEND_EMAIL_TASK, maxAttempts, [...emailIds]],
  );
}
