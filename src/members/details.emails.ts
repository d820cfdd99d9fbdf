import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import type { MemberDetails } from '../identity/members.repository.js';

/**
 * The e-mails of the details page (C5, C14). All are transactional: they are about the member's
 * own account. Mail to an address not yet verified greets no one by name and carries no manage
 * link, as that address may belong to a stranger (a typo); mail to an address being given up
 * carries no manage link either, as its mailbox may no longer be the member's.
 */

export type DetailsField = keyof MemberDetails;
export interface DetailsChange {
  field: DetailsField;
  from: string | null;
  to: string | null;
}

/**
 * The name is stated old → new, as the greeting shows it anyway; postal address and phone are
 * only said to be added, changed or removed, so that a mail that is forwarded, stored or read by
 * someone else does not carry them (the member can see them on the page).
 */
export function describeDetailsChange(c: DetailsChange): string {
  if (c.field === 'name') return `Name: ${c.from ?? '(none)'} → ${c.to ?? '(none)'}`;
  const label = c.field === 'postal_address' ? 'Postal address' : 'Phone number';
  return `${label}: ${c.from === null ? 'added' : c.to === null ? 'removed' : 'changed'}`;
}

const undo = (ctx: MailContext) =>
  `If you did not make this change, or want to undo it, sign in at ${ctx.baseUrl}/manage and correct it at ${ctx.baseUrl}/account/details, or write to us at ${ctx.privacyContact}.`;

export function detailsChangedEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; changes: DetailsChange[]; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'details_changed',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your details were changed`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: ['These changes to your details were just saved:'],
    list: d.changes.map(describeDetailsChange),
    after: [undo(ctx)],
    manageUrl: d.manageUrl,
  });
}

export function verifyNewEmail(ctx: MailContext, d: { to: string; memberId: string; url: string; minutes: number }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'email_verify',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: confirm your new e-mail address`,
    greeting: 'Hello,',
    paragraphs: [
      `You asked us to use ${d.to} as the e-mail address of your membership.`,
      `Open the link to confirm. It works once, for ${d.minutes} minutes; until then we keep writing to your old address.`,
    ],
    action: { label: 'Confirm my new address', url: d.url },
    after: ['If you did not ask for this, you can ignore this e-mail: nothing changes unless the link is used.'],
  });
}

/** Sent instead of the link when the address is taken, so that only its owner learns that it is (no enumeration). */
export function emailInUseEmail(ctx: MailContext, d: { to: string }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'email_in_use',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: this address is already in use`,
    greeting: 'Hello,',
    paragraphs: [
      `Someone asked us to use ${d.to} as the e-mail address of a membership. This address already belongs to another membership, so nothing was changed.`,
      `If that membership is yours, you can sign in with this address at ${ctx.baseUrl}/manage.`,
    ],
    after: [`If you did not ask for this, you can ignore this e-mail. Questions: ${ctx.privacyContact}.`],
  });
}

/** C5: the old address is told of the request, with the same words whether the new address was free or not. */
export function emailChangeRequestedEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; newEmail: string; minutes: number },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'email_change_requested',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: a change of your e-mail address was requested`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      `Someone signed in to your membership asked to change its e-mail address to ${d.newEmail}.`,
      `Nothing changes until the new address is confirmed from the e-mail we sent to it, within ${d.minutes} minutes. Until then we keep writing to this address.`,
    ],
    after: [`If this was not you, sign in at ${ctx.baseUrl}/manage and tell us at ${ctx.privacyContact}.`],
  });
}

/** C14: confirms the change to the new address, with how to change it again. */
export function emailChangedEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; oldEmail: string; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'email_changed',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your e-mail address was changed`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: ['The e-mail address of your membership was changed:'],
    list: [`E-mail address: ${d.oldEmail} → ${d.to}`],
    after: [`From now on we write to this address. ${undo(ctx)}`],
    manageUrl: d.manageUrl,
  });
}

/** C5, C14: the old address is told that the change took effect, and whom to tell if it was not the member. */
export function emailChangedNoticeEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; newEmail: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'email_changed_notice',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your e-mail address was changed`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      'The e-mail address of your membership was changed:',
      `E-mail address: ${d.to} → ${d.newEmail}`,
      'We will not write to this address any more.',
    ],
    after: [`If you did not make this change, write to us at ${ctx.privacyContact} straight away and we will put it right.`],
  });
}
