import type { Task } from 'graphile-worker';
import type { Db } from '../db.js';
import { untilDatabaseAnswers, type DatabaseWatch } from '../shared/db-watch.js';
import type { Logger } from '../shared/logger.js';
import { hashableInSql, isSuppressed, type SuppressionKeys } from '../shared/suppression.js';
import { fromHeader, withInlineLogo, type BrandSource } from './branded.js';
import type { Mailer } from './mailer.js';
import { addSendJob } from './outbox.js';
import { nextSendSlot, type SendRate } from './send-rate.js';
import { markAddressUndeliverable, markAttemptFailed, markCancelled, scrubMessage } from './outbox.repository.js';
import { MessageReads } from './message-reads.js';
import { SentMarks } from './sent-marks.js';

export interface SendEmailDeps {
  db: Db;
  mailer: Mailer;
  mailFrom: string;
  logger: Logger;
  /** The suppression list holds keyed hashes of addresses (C6). */
  suppressionKeys: SuppressionKeys;
  /** With it, recording the outcome of a send waits out a database outage instead of failing. */
  watch?: DatabaseWatch;
  /**
   * Ends that wait when the process stops. Not the job's own abort signal: a runner that gave up
   * (the database went away) aborts its jobs too, and a send whose outcome is then not recorded
   * would be sent again.
   */
  stopSignal?: AbortSignal;
  /** The shared send rate of messages whose row says rate_limited (bulletins); unlimited without it. */
  sendRate?: SendRate;
  /** Attempts of a send job added again to wait for its rate slot. */
  maxAttempts?: number;
  /** The branding's sender name and logo (issue 13.11); MAIL_FROM alone and no logo without it. */
  brand?: BrandSource;
  /**
   * C12: what to do with an address the SMTP server refused for good on the last attempt; by
   * default the member who has it is marked undeliverable (jobs.ts adds the webhook event).
   */
  addressRefused?: (address: string) => Promise<unknown>;
}

/**
 * A permanent refusal of this message to this recipient: a 5xx answer to RCPT TO or to the message
 * itself (DATA), so retrying cannot help. A 5xx elsewhere (our sender address refused, failed
 * authentication, a server refusing connections) says nothing about the recipient and is retried.
 */
function isPermanentRefusal(err: unknown): boolean {
  const { responseCode: code, command } = (err ?? {}) as { responseCode?: unknown; command?: unknown };
  return typeof code === 'number' && code >= 500 && code < 600 && (command === 'RCPT TO' || command === 'DATA');
}

/**
 * A failed attempt, thrown for graphile-worker to retry with backoff. Not the SMTP client's own
 * error: a timeout of nodemailer's has the code ETIMEDOUT, which would pass for the database being
 * away, and the job would then be run again at once (up to a minute) instead of spending an attempt.
 */
class SmtpAttemptFailed extends Error {
  override name = 'SmtpAttemptFailed';
}

/** How long the outcome of a send that has happened waits for an unreachable database. */
const RECORD_WAITS_FOR_DATABASE_MS = 120_000;

/**
 * Sends one outbox message. Jobs run at least once, so the row decides: a message that is no
 * longer queued (sent, failed, cancelled) is left alone. No transaction is held open across the
 * SMTP call. A temporary failure (4xx, a connection error) is recorded and rethrown so
 * graphile-worker retries with exponential backoff; on the last attempt, or at once for a permanent
 * refusal (5xx), the row ends as failed with the reason. Once the SMTP server has
 * answered, what it said is recorded even if the database is away for a while: the job waits for
 * it, since running the job again after a successful send would send the message twice.
 *
 * Round trips per message: none of its own. The rows of the messages whose sends start together
 * are read in one statement with their suppression and consent checks, taking the send slots of
 * the rate-limited ones that go (message-reads.ts); the sent marks of messages sent at about the
 * same time share one UPDATE (sent-marks.ts); the runner claims and completes jobs in batches
 * (worker.ts).
 */
export function makeSendEmailTask(deps: SendEmailDeps): Task {
  const sentMarks = new SentMarks(deps.db);
  const reads = new MessageReads(deps.db, deps.suppressionKeys, deps.sendRate);
  return async (payload, helpers) => {
    const record = <T>(step: () => Promise<T>): Promise<T> =>
      deps.watch
        ? untilDatabaseAnswers(deps.watch, step, {
            maxWaitMs: RECORD_WAITS_FOR_DATABASE_MS,
            signal: deps.stopSignal,
            source: 'send_email',
          })
        : step();
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    // With a send rate, a rate-limited message that is to go takes its slot in the same statement
    // (which reads the messages of the sends running together at once).
    const msg = await reads.read(id);
    // A held message (a paced bulk send not yet released, or paused) is released with a new job.
    if (!msg || msg.status !== 'queued' || msg.held) return;
    if (!msg.recipient) {
      await markCancelled(deps.db, id, 'no_address');
      return;
    }
    // PostgreSQL hashed the address as we do unless it is not plain ASCII: then ask again, hashed here.
    const suppressed = hashableInSql(msg.recipient) ? msg.suppressed : await isSuppressed(deps.db, msg.recipient, deps.suppressionKeys);
    if (!msg.reaches_suppressed && suppressed) {
      await markCancelled(deps.db, id, 'suppressed');
      deps.logger.info({ event: 'email.cancelled_suppressed', emailId: id });
      return;
    }
    if (!msg.still_opted_in) {
      await markCancelled(deps.db, id, 'opted_out');
      deps.logger.info({ event: 'email.cancelled_opted_out', emailId: id });
      return;
    }
    // No slot free under the shared rate limit: the job comes back when one is, without spending an attempt.
    if (msg.rate_limited && deps.sendRate && !msg.slot_taken) {
      await addSendJob(deps.db, id, deps.maxAttempts ?? helpers.job.max_attempts, await nextSendSlot(deps.db, deps.sendRate));
      return;
    }
    // The erasure's last message: once it has gone (or finally failed), its address and content go too.
    const afterwards = async () => {
      if (msg.scrub_after_send) await scrubMessage(deps.db, id);
    };
    const attempt = helpers.job.attempts;
    const brand = deps.brand?.current() ?? { senderName: null, logo: null };
    const { html, attachments } = withInlineLogo(msg.html_body, brand);
    try {
      await deps.mailer.sendMail({
        from: fromHeader(deps.mailFrom, brand.senderName),
        to: msg.recipient,
        subject: msg.subject,
        text: msg.text_body,
        html,
        attachments,
        messageId: msg.message_id,
        headers: Object.fromEntries(Object.entries(msg.headers).map(([k, value]) => [k, { prepared: true, value }])),
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const permanent = isPermanentRefusal(err);
      // A 5xx is final at once: the server said the message will never be taken, so asking again only delays the mark.
      const final = permanent || attempt >= helpers.job.max_attempts;
      await record(() => markAttemptFailed(deps.db, id, attempt, reason, final, permanent));
      deps.logger.warn({ event: final ? 'email.failed' : 'email.retry', emailId: id, attempt, reason });
      if (!final) throw new SmtpAttemptFailed(reason);
      // C12: a final permanent refusal marks the address undeliverable, if it is still the member's.
      const refused = deps.addressRefused ?? ((address: string) => markAddressUndeliverable(deps.db, address));
      if (permanent) await record(() => refused(msg.recipient as string));
      await record(afterwards);
      return;
    }
    await record(() => sentMarks.mark(id, attempt));
    await record(afterwards);
    deps.logger.info({ event: 'email.sent', emailId: id, kind: msg.kind, attempt });
  };
}
