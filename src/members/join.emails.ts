import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

/** The e-mails of joining (C15, C14): transactional, about the address owner's own membership. */

/** Someone asked to join with an address that is already a member's: nothing changes, the owner is told. */
export function alreadyMemberEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'already_member',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: you are already a member`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: ['Someone, probably you, asked to join with this address. You are already a member, so nothing was changed.'],
    action: { label: 'Choose what we send you', url: d.manageUrl },
    after: ['If this was not you, you can ignore this e-mail.'],
  });
}

/** A used confirmation link's page asked for the member's preference link (issue 13.10): it comes here, never on the page. */
export function preferencesLinkEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'preferences_link',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: the link to your preferences`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      'Someone, probably you, opened the link that confirmed your membership and asked for the link to your preferences. Your membership is confirmed; nothing was changed.',
    ],
    action: { label: 'Choose what we send you', url: d.manageUrl },
    after: ['If this was not you, you can ignore this e-mail: the link works only for whoever reads it here.'],
    manageUrl: d.manageUrl,
  });
}

/**
 * The double opt-in (C15). The address is not proven yet, so a name typed by whoever filled in the
 * form is not shown to its owner.
 */
export function signupConfirmEmail(ctx: MailContext, d: { to: string; chosen: string[]; url: string; expiryHours: number }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'signup_confirm',
    to: d.to,
    memberId: null,
    // The owner of an erased address may come back: only their confirming it lifts the suppression (C6).
    reachesSuppressed: true,
    subject: `${ctx.orgName}: please confirm your membership`,
    greeting: 'Hello,',
    paragraphs: [
      `Thank you for joining. Please confirm that this is your address: until you do, nothing is sent to you and your choices do not take effect. The link works for ${d.expiryHours} hours; after that we delete your sign-up.`,
      d.chosen.length ? 'You chose:' : 'You chose no newsletters or offers yet; you can choose them any time.',
    ],
    list: d.chosen,
    action: { label: 'Confirm my membership', url: d.url },
    after: ['If you did not ask to join, ignore this e-mail and nothing happens.'],
    manageNote: `once you have confirmed, sign in at ${ctx.baseUrl}/manage any time and we e-mail you a link to your preferences.`,
    why: 'This e-mail asks you to confirm a sign-up made with your address, so we send it whatever your choices.',
  });
}

/** The membership is confirmed: what the member is subscribed to, and how to change it (C14). */
export function welcomeEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string; chosen: string[]; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'welcome',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: welcome, your membership is confirmed`,
    greeting: `Dear ${d.name},`,
    paragraphs: [
      d.chosen.length
        ? 'Your membership is confirmed. You are subscribed to:'
        : 'Your membership is confirmed. You are not subscribed to anything yet.',
    ],
    list: d.chosen,
    action: { label: 'Change what we send you', url: d.manageUrl },
    after: ['You can change your choices, correct your details or ask us to remove your data at any time.'],
    manageUrl: d.manageUrl,
  });
}
