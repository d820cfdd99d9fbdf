import type { Task } from 'graphile-worker';
import type { Db } from '../db.js';
import type { Logger } from '../shared/logger.js';
import type { Mailer } from './mailer.js';
import { findEmailMessage, isStillOptedIn, markAttemptFailed, markCancelled, markSent } from './outbox.repository.js';

export interface SendEmailDeps {
  db: Db;
  mailer: Mailer;
  mailFrom: string;
  logger: Logger;
}

/**
 * Sends one outbox message. Jobs run at least once, so the row decides: a message that is no
 * longer queued (sent, failed, cancelled) is left alone. No transaction is held open across the
 * SMTP call. A failure is recorded and rethrown so graphile-worker retries with exponential
 * backoff; on the last attempt the row ends as failed with the reason.
 */
export function makeSendEmailTask(deps: SendEmailDeps): Task {
  return async (payload, helpers) => {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const msg = await findEmailMessage(deps.db, id);
    if (!msg || msg.status !== 'queued') return;
    if (!msg.recipient) {
      await markCancelled(deps.db, id, 'no deliverable address');
      return;
    }
    if (msg.topic_id !== null && msg.member_id !== null && !(await isStillOptedIn(deps.db, msg.member_id, msg.topic_id))) {
      await markCancelled(deps.db, id, 'recipient opted out before sending');
      deps.logger.info({ event: 'email.cancelled_opted_out', emailId: id });
      return;
    }
    const attempt = helpers.job.attempts;
    try {
      await deps.mailer.sendMail({
        from: deps.mailFrom,
        to: msg.recipient,
        subject: msg.subject,
        text: msg.text_body,
        html: msg.html_body,
        messageId: msg.message_id,
        headers: Object.fromEntries(Object.entries(msg.headers).map(([k, value]) => [k, { prepared: true, value }])),
      });
    } catch (err) {
      const final = attempt >= helpers.job.max_attempts;
      const reason = err instanceof Error ? err.message : String(err);
      await markAttemptFailed(deps.db, id, attempt, reason, final);
      deps.logger.warn({ event: final ? 'email.failed' : 'email.retry', emailId: id, attempt, reason });
      if (final) return;
      throw err;
    }
    await markSent(deps.db, id, attempt);
    deps.logger.info({ event: 'email.sent', emailId: id, kind: msg.kind, attempt });
  };
}
