import type { Task } from 'graphile-worker';
import type { Db } from '../db.js';
import { REMOVAL_COMPLETED_KIND } from '../removal/erasure.emails.js';
import { scrubMessage } from '../removal/erasure.repository.js';
import { markAddressUndeliverable } from './outbox.repository.js';
import type { Logger } from '../shared/logger.js';
import { isSuppressed, type SuppressionKeys } from '../shared/suppression.js';
import type { Mailer } from './mailer.js';
import { findEmailMessage, isStillOptedIn, markAttemptFailed, markCancelled, markSent } from './outbox.repository.js';

export interface SendEmailDeps {
  db: Db;
  mailer: Mailer;
  mailFrom: string;
  logger: Logger;
  /** The suppression list holds keyed hashes of addresses (C6). */
  suppressionKeys: SuppressionKeys;
}

/**
 * The only kinds that may reach a suppressed address (C6): the double opt-in confirmation, by
 * which the owner may choose to come back, and the message saying the erasure is done.
 */
const SUPPRESSION_EXEMPT = new Set(['signup_confirm', REMOVAL_COMPLETED_KIND]);

/** A permanent refusal: the SMTP server answered 5xx, so retrying cannot help. */
function isPermanentRefusal(err: unknown): boolean {
  const code = (err as { responseCode?: unknown } | null)?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
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
    if (!SUPPRESSION_EXEMPT.has(msg.kind) && (await isSuppressed(deps.db, msg.recipient, deps.suppressionKeys))) {
      await markCancelled(deps.db, id, 'suppressed');
      deps.logger.info({ event: 'email.cancelled_suppressed', emailId: id });
      return;
    }
    if (msg.topic_id !== null && msg.member_id !== null && !(await isStillOptedIn(deps.db, msg.member_id, msg.topic_id))) {
      await markCancelled(deps.db, id, 'recipient opted out before sending');
      deps.logger.info({ event: 'email.cancelled_opted_out', emailId: id });
      return;
    }
    // The erasure's last message: once it has gone (or finally failed), its address and content go too.
    const afterwards = async () => {
      if (msg.kind === REMOVAL_COMPLETED_KIND) await scrubMessage(deps.db, id);
    };
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
      if (!final) throw err;
      // C12: a final permanent refusal marks the address undeliverable, if it is still the member's.
      if (isPermanentRefusal(err)) await markAddressUndeliverable(deps.db, msg.recipient);
      await afterwards();
      return;
    }
    await markSent(deps.db, id, attempt);
    await afterwards();
    deps.logger.info({ event: 'email.sent', emailId: id, kind: msg.kind, attempt });
  };
}
