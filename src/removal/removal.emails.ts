import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { formatDay } from '../shared/time.js';

/**
 * What carrying out a removal does (C6), in the member's words. The account page, the link page and
 * the e-mails all show this one list, so the promise reads the same everywhere.
 */
export const REMOVAL_MEANS: readonly string[] = [
  'We erase your name, e-mail address, postal address, phone number and password.',
  'We keep only a keyed fingerprint of your e-mail address, not the address itself, so that we never mail you again.',
  'We keep the history of your choices only in anonymised form, no longer linked to you.',
  'We ask every partner who received your data from us to delete it too.',
  'We send you one last e-mail to say it is done.',
];

/** Dates in pages and mail: day, month name and year, in the organisation's zone (ORG_TIMEZONE). */
export function formatRemovalDate(d: Date, zone: string): string {
  return formatDay(d, zone);
}

export function graceText(days: number): string {
  return days === 0 ? 'as soon as you confirm it' : `${days} day${days === 1 ? '' : 's'} after you confirm it`;
}

interface Recipient {
  to: string;
  memberId: string;
  name: string | null;
  manageUrl: string;
}

export const greeting = (r: { name: string | null }) => `Dear ${r.name ?? 'member'},`;

/** The fresh single-use link: nothing happens unless the member presses it (C6, C14). */
export function removalConfirmEmail(ctx: MailContext, r: Recipient & { url: string; minutes: number; graceDays: number }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'removal_confirm',
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: please confirm that we should remove your data`,
    greeting: greeting(r),
    paragraphs: [
      `You asked us to remove your data. Nothing happens unless you confirm with the link in this e-mail. The link works once, for ${r.minutes} minutes.`,
      `Once you confirm, we carry out the removal ${graceText(r.graceDays)}, and you can cancel it until then. When we carry it out:`,
    ],
    list: [...REMOVAL_MEANS],
    action: { label: 'Confirm that you want your data removed', url: r.url },
    after: [
      'If you did not ask for this, you can ignore this e-mail: nothing happens until the link is used.',
      `Questions about your data: ${ctx.privacyContact}.`,
    ],
    manageUrl: r.manageUrl,
  });
}

/** C14: states the date the removal will be carried out and how to cancel it before then. */
export function removalConfirmedEmail(ctx: MailContext, r: Recipient & { dueAt: Date }): BuiltEmail {
  const date = formatRemovalDate(r.dueAt, ctx.timeZone);
  return memberMessageEmail(ctx, {
    kind: 'removal_confirmed',
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: your removal request is confirmed`,
    greeting: greeting(r),
    paragraphs: [`You confirmed your request to remove your data. We will carry it out on ${date}. On that day:`],
    list: [...REMOVAL_MEANS],
    action: { label: 'Cancel the removal', url: `${ctx.baseUrl}/account/removal` },
    after: [
      `To cancel before ${date}, sign in at ${ctx.baseUrl}/manage and open "Remove your data" on your account page, or write to ${ctx.privacyContact}.`,
      `If you did not ask for this, cancel it the same way, or tell us at ${ctx.privacyContact}.`,
    ],
    manageUrl: r.manageUrl,
  });
}

/** C14: states what was cancelled and how to undo that (ask again); the button leads to the member's choices (issue 13.10). */
export function removalCancelledEmail(ctx: MailContext, r: Recipient & { dueAt: Date | null }): BuiltEmail {
  const what = r.dueAt
    ? `Your request to remove your data, due to be carried out on ${formatRemovalDate(r.dueAt, ctx.timeZone)}, is cancelled.`
    : 'Your request to remove your data, which you had not yet confirmed, is cancelled.';
  return memberMessageEmail(ctx, {
    kind: 'removal_cancelled',
    to: r.to,
    memberId: r.memberId,
    subject: `${ctx.orgName}: your removal request is cancelled`,
    greeting: greeting(r),
    paragraphs: [what, 'Nothing was removed: your membership, details and choices stay as they are.'],
    action: { label: 'Manage your choices', url: r.manageUrl },
    after: [
      `If you still want us to remove your data, you can ask again at any time: sign in at ${ctx.baseUrl}/manage and open "Remove your data" on your account page.`,
      `If you did not cancel it, write to ${ctx.privacyContact}.`,
    ],
    manageUrl: r.manageUrl,
  });
}
