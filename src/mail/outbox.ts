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
 * The send job of one message; its key is the message's, so a message never has two such jobs. A later
 * run time defers it (a send waiting for its rate-limit slot adds its own job again this way).
 */
export function addSendJob(db: DbOrTx, emailId: string, maxAttempts: number, runAt?: Date): Promise<void> {
  return addJob(db, SEND_EMAIL_TASK, { id: emailId }, { maxAttempts, jobKey: `email:${emailId}`, runAt });
}

/** Messages per batch job of addSendJobBatches. */
export const SEND_BATCH_SIZE = 8;

/**
 * The send jobs of many released messages as batch jobs of SEND_BATCH_SIZE messages each, in one
 * statement (a bulletin's dispatcher). A batch job is claimed, completed and added once for its
 * messages, where a job each cost those statements per message; its entries are sent side by side,
 * each as a job of its own (worker.ts), and those that fail are retried alone. Its messages have no
 * per-message job key: each leaves a held state once, under the bulletin's lock, so none is released
 * twice, and a send that waits for its rate slot goes on as a keyed job of its own (addSendJob).
 */
export async function addSendJobBatches(db: DbOrTx, emailIds: readonly string[], maxAttempts: number): Promise<void> {
  if (emailIds.length === 0) return;
  await db.raw(
    `SELECT graphile_worker.add_jobs(array_agg(
       ROW(?, batch.payload, NULL, NULL, ?, NULL, NULL, NULL)::graphile_worker.job_spec))
     FROM (SELECT json_agg(json_build_object('id', id) ORDER BY n) AS payload
           FROM unnest(?::uuid[]) WITH ORDINALITY AS u(id, n) GROUP BY (n - 1) / ?) batch`,
    [SEND_EMAIL_TASK, maxAttempts, [...emailIds], SEND_BATCH_SIZE],
  );
}

/**
 * A built e-mail's message row and its send job in one statement, after the caller's own
 * data-modifying CTEs (`before`, any names but "msg"): a change, its confirmation and the job
 * that sends it in one round trip, committed together (C14). The database makes the id. A caller
 * whose `before` is always the same text may name the statement: each connection then prepares
 * it once and PostgreSQL keeps its plan (a hot path's saving; one name, one text).
 */
export async function enqueueEmailWith(
  trx: Knex.Transaction,
  email: BuiltEmail,
  opts: OutboxOptions,
  before: { sql: string; bindings: Knex.RawBinding[] },
  statementName?: string,
): Promise<string> {
  const statement = trx.raw<{ rows: { id: string }[] }>(
    `WITH ${before.sql}, msg AS (
       INSERT INTO email_messages (id, kind, recipient, member_id, topic_id, message_id, subject, text_body, html_body, headers,
                                   reaches_suppressed, scrub_after_send)
       SELECT id, ?, ?, ?, ?, '<' || id || '@' || ?::text || '>', ?, ?, ?, ?::jsonb, ?, ? FROM gen_random_uuid() AS id
       RETURNING id
     )
     SELECT msg.id, graphile_worker.add_job(?, json_build_object('id', msg.id), max_attempts => ?, job_key => 'email:' || msg.id) FROM msg`,
    [
      ...before.bindings,
      email.kind,
      email.to,
      email.memberId,
      email.topicId,
      opts.messageIdHost,
      email.subject,
      email.text,
      email.html,
      JSON.stringify(email.headers),
      email.reachesSuppressed === true,
      email.scrubAfterSend === true,
      SEND_EMAIL_TASK,
      opts.maxAttempts,
    ],
  );
  const { rows } = await (statementName ? statement.options({ name: statementName }) : statement);
  return rows[0]!.id;
}
