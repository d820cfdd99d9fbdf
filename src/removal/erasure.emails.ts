import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { formatRemovalDate, greeting } from './removal.emails.js';

interface Recipient {
  to: string;
  memberId: string;
  name: string | null;
}

/**
 * C6, C14: the last message, queued in the erasure's own transaction while the address still
 * exists. It says what was erased and what is kept; there is no account left to link to.
 */
export function removalCompletedEmail(ctx: MailContext, r: Recipient & { completedAt: Date; partners: string[] }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'removal_completed',
    // Queued while the address still exists, sent after it is suppressed, then scrubbed (C6).
    reachesSuppressed: true,
    scrubAfterSend: true,
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: your data has been removed`,
    greeting: greeting(r),
    paragraphs: [
      `As you asked, we removed your data on ${formatRemovalDate(r.completedAt, ctx.timeZone)}. We erased your name, e-mail address, postal address, phone number and password, your sign-in links and sessions, and the content of the e-mails we sent you.`,
      'What we keep:',
    ],
    list: [
      'A keyed fingerprint of your e-mail address, not the address itself, so that we never mail you again.',
      'The history of your choices (which topics, when, opted in or out), in anonymised form: it is no longer linked to your name or address.',
      'A record that your request was carried out, with its dates.',
      r.partners.length
        ? `We are asking the partners who received your data from us to delete it too: ${r.partners.join(', ')}.`
        : 'No partner ever received your data from us.',
    ],
    after: [
      'This is the last e-mail we send you. If you join again one day, you will need to confirm your address afresh.',
      `Questions about your data: ${ctx.privacyContact}.`,
    ],
    manageNote: `nothing is left to manage, as your data is removed. To join again one day, go to ${ctx.baseUrl}/join.`,
    why: 'This e-mail confirms what you asked of us, so we send it whatever your choices.',
  });
}

/** C14: a legal hold stops the removal; the member is told, and how to ask about it. */
export function removalHeldEmail(ctx: MailContext, r: Recipient & { manageUrl: string }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'removal_held',
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: your removal request is on hold`,
    greeting: greeting(r),
    paragraphs: [
      'We have put your request to remove your data on hold, because we are required to keep your data for a legal reason for now. Nothing is removed while the hold lasts.',
      'When the hold ends we will carry out your request and tell you by e-mail.',
    ],
    after: [`To ask about the reason, or to object to the hold, write to ${ctx.privacyContact}.`],
    manageUrl: r.manageUrl,
  });
}

/** C14: the hold is lifted; the removal goes ahead on its date, and the member can still cancel it. */
export function removalReleasedEmail(ctx: MailContext, r: Recipient & { manageUrl: string; dueAt: Date; now: Date }): BuiltEmail {
  const when = r.dueAt.getTime() <= r.now.getTime() ? 'within the next hour' : `on ${formatRemovalDate(r.dueAt, ctx.timeZone)}`;
  return memberMessageEmail(ctx, {
    kind: 'removal_released',
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: the hold on your removal request is lifted`,
    greeting: greeting(r),
    paragraphs: [`The hold on your request to remove your data is lifted. We will carry it out ${when}.`],
    action: { label: 'Cancel the removal', url: `${ctx.baseUrl}/account/removal` },
    after: [
      `If you no longer want your data removed, sign in at ${ctx.baseUrl}/manage and cancel it on your account page before then, or write to ${ctx.privacyContact}.`,
    ],
    manageUrl: r.manageUrl,
  });
}
