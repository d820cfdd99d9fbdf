import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

/** The e-mails of the password page (C14): transactional, to the member's own address. */
const notYou = (ctx: MailContext) =>
  `If this was not you, ask for a sign-in link at ${ctx.baseUrl}/manage, set a new password, and tell us at ${ctx.privacyContact}.`;

export function passwordSetEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; changed: boolean; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'password_set',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your password was ${d.changed ? 'changed' : 'set'}`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      `A password was just ${d.changed ? 'changed' : 'set'} for signing in to your preferences. You can still sign in with a link by e-mail.`,
      'Every other browser signed in to your account was signed out.',
    ],
    after: [notYou(ctx)],
    manageUrl: d.manageUrl,
  });
}

export function passwordRemovedEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'password_removed',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your password was removed`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      'The password of your account was just removed: from now on you sign in with a link by e-mail.',
      'Every other browser signed in to your account was signed out.',
    ],
    after: [notYou(ctx)],
    manageUrl: d.manageUrl,
  });
}
