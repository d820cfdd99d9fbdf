import { unsubscribe } from '../consent/consent.service.js';
import type { ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { markAddressUndeliverable } from '../mail/outbox.repository.js';
import { addressHash } from '../shared/suppression.js';
import {
  countSoftBounce,
  feedbackOf,
  findMessageByMessageId,
  insertFeedback,
  lockMemberByAddress,
  markMessageFeedback,
  resetSoftBounces,
  settleFeedback,
  type FeedbackKind,
  type FeedbackOutcome,
} from './bounces.repository.js';
import { recordWebhookEvent } from '../events/webhook-events.js';

/** One report from the sending service about one recipient of one message. */
export interface MailReport {
  provider: 'ses' | 'postmark';
  /** The provider's id of the report; with the kind, it makes a repeated report harmless. */
  providerEventId: string;
  kind: FeedbackKind;
  /** The provider's codes (bounce type and subtype, complaint type): no free text. */
  detail: string;
  address: string;
  /** The Message-ID header the message was sent with, when the report carries it. */
  messageId: string | null;
}

/** Message-IDs are stored with their angle brackets; reports give them with or without. */
export function normaliseMessageId(raw: string | null | undefined): string | null {
  const v = raw?.trim();
  if (!v) return null;
  return v.startsWith('<') ? v : `<${v}>`;
}

/**
 * Acts on one report, once, in one transaction (issue 12.4):
 * - a hard bounce marks the address undeliverable, with the send path's own function, so audiences
 *   and bulletins leave it out (C12) and it is never mailed again until it changes (C6, C3);
 * - a soft bounce is counted, and after SOFT_BOUNCE_LIMIT in a row the address is marked
 *   undeliverable too; a delivery resets the count;
 * - a complaint opts the member out of every topic through the consent service, ledger source
 *   'complaint', with the confirmation e-mail every change gets (C14: the change and its
 *   confirmation commit together; it is transactional mail, about the member's own choices);
 * - the report is kept (codes only), shown on the member's record and, matched by Message-ID,
 *   counted on the bulletin the message belonged to.
 */
export async function recordMailReport(svc: ServiceContext, report: MailReport): Promise<FeedbackOutcome | 'duplicate'> {
  return inTransaction(svc.db, async (trx) => {
    const feedbackId = await insertFeedback(trx, {
      provider: report.provider,
      provider_event_id: report.providerEventId,
      kind: report.kind,
      detail: report.detail,
    });
    if (feedbackId === undefined) return 'duplicate';
    const messageId = normaliseMessageId(report.messageId);
    const message = messageId ? await findMessageByMessageId(trx, messageId) : undefined;
    if (message) await markMessageFeedback(trx, message.id, report.kind);
    const member = await lockMemberByAddress(trx, report.address);
    let outcome: FeedbackOutcome = 'no_member';
    if (member) outcome = await actOn(svc, trx, report, member);
    await settleFeedback(trx, feedbackId, { memberId: member?.id ?? null, emailMessageId: message?.id ?? null, outcome });
    return outcome;
  });
}

/**
 * C12: the SMTP server refused an address for good (a 5xx on the last attempt): the member who has
 * it is marked undeliverable, and the systems that follow suppressions hear of it like a bounce
 * reported by the provider (suppression.added, reason smtp_refused). Handed to the send task by
 * jobs.ts, as mail/ knows nothing of webhooks.
 */
export async function markRefusedAddress(svc: ServiceContext, address: string): Promise<void> {
  await inTransaction(svc.db, (trx) => markUndeliverable(svc, trx, address, 'smtp_refused'));
}

/** C12: the member who has this address, if not marked yet, is marked undeliverable, and suppression.added says why. */
async function markUndeliverable(svc: ServiceContext, trx: Trx, address: string, reason: string): Promise<void> {
  const [memberId] = await markAddressUndeliverable(trx, address);
  if (!memberId) return;
  await recordWebhookEvent(trx, 'suppression.added', {
    address_hash: addressHash(address, svc.keys.suppression.write),
    reason,
    member_id: memberId,
  });
}

type Trx = Parameters<Parameters<typeof inTransaction>[1]>[0];

async function actOn(
  svc: ServiceContext,
  trx: Trx,
  report: MailReport,
  member: { id: string; status: string; email_undeliverable_at: Date | null },
): Promise<FeedbackOutcome> {
  const undeliverable = async (): Promise<FeedbackOutcome> => {
    if (member.email_undeliverable_at) return 'recorded';
    await markUndeliverable(svc, trx, report.address, report.kind === 'hard_bounce' ? 'hard_bounce' : 'soft_bounces');
    return 'marked_undeliverable';
  };
  switch (report.kind) {
    case 'hard_bounce':
      return undeliverable();
    case 'soft_bounce':
      return (await countSoftBounce(trx, member.id)) >= svc.config.bounces.softBounceLimit ? undeliverable() : 'counted';
    case 'delivery':
      await resetSoftBounces(trx, member.id);
      return 'reset';
    case 'complaint': {
      if (member.status !== 'active') return 'recorded';
      await unsubscribe(svc, { memberId: member.id, scope: 'all', source: 'complaint', channel: 'email' }, trx);
      return 'opted_out';
    }
  }
}

const OUTCOME_NOTES: Record<FeedbackOutcome, string> = {
  recorded: 'Recorded; nothing more to do.',
  marked_undeliverable: 'The address was marked undeliverable: no mail goes to it until the member changes it.',
  opted_out: 'The member was opted out of every topic and sent a confirmation. Check with the member before opting them in again.',
  counted: 'Counted as a temporary failure.',
  reset: 'Delivered.',
  no_member: 'No member has this address.',
};

/**
 * For the member's record (issue 12.4): whether the address is deliverable, the temporary
 * failures in a row, and the reports received, each with a note for staff saying what was done.
 */
export async function deliverabilityOf(svc: ServiceContext, memberId: string) {
  const [member, reports] = await Promise.all([
    svc.db('members').where({ id: memberId }).first('email_undeliverable_at', 'soft_bounces_in_row') as Promise<
      { email_undeliverable_at: Date | null; soft_bounces_in_row: number } | undefined
    >,
    feedbackOf(svc.db, memberId),
  ]);
  return {
    undeliverableAt: member?.email_undeliverable_at ?? null,
    softBouncesInRow: member?.soft_bounces_in_row ?? 0,
    softBounceLimit: svc.config.bounces.softBounceLimit,
    reports: reports.map((r) => ({ ...r, note: OUTCOME_NOTES[r.outcome] })),
  };
}
