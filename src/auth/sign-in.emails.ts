import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail, type MemberMessage } from '../mail/member-message.js';

/** The footer of mail about a staff account: staff may be members too, and manage that as members do. */
const staffFooter = (ctx: MailContext): Pick<MemberMessage, 'manageNote' | 'why'> => ({
  manageNote: `if you are also a member, sign in at ${ctx.baseUrl}/manage and we e-mail you a link to your preferences.`,
  why: 'This e-mail is about your staff account, so we send it whatever your choices.',
});

/**
 * E-mails about an account's own sign-in (C11): transactional, to the account's address. They
 * name no network or device, as the log keeps only truncated addresses (C10).
 */
export function failedSignInsEmail(
  ctx: MailContext,
  d: { to: string; memberId: string | null; name: string | null; staff: boolean; count: number },
): BuiltEmail {
  const where = d.staff ? `${ctx.baseUrl}/admin/login` : `${ctx.baseUrl}/manage`;
  return memberMessageEmail(ctx, {
    kind: d.staff ? 'staff_failed_sign_ins' : 'failed_sign_ins',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: failed sign-ins to your ${d.staff ? 'staff ' : ''}account`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      `In the last hour there were ${d.count} failed attempts to sign in to your ${d.staff ? 'staff ' : ''}account with a password.`,
      d.staff
        ? 'If it was you, nothing needs doing. While the attempts go on, signing in asks for your password and your two-factor code together, so you are not locked out.'
        : 'If it was you, nothing needs doing. While the attempts go on, password sign-in to your account is paused; a sign-in link by e-mail always works.',
    ],
    after: [
      d.staff
        ? `If it was not you, someone may be guessing your password: change it after you sign in at ${where}, and tell your administrator.`
        : `If it was not you, someone may be guessing your password: sign in with a link at ${where} and change it, or write to us at ${ctx.privacyContact}.`,
    ],
    ...(d.staff ? staffFooter(ctx) : {}),
  });
}

export function recoveryCodeUsedEmail(ctx: MailContext, d: { to: string; name: string; left: number }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'staff_recovery_code_used',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: a recovery code was used to sign in`,
    greeting: `Dear ${d.name},`,
    paragraphs: [
      `A recovery code was just used to sign in to your staff account instead of a code from your authenticator app. ${d.left} unused ${d.left === 1 ? 'code is' : 'codes are'} left.`,
      'If you lost your device, ask an administrator to reset your two-factor sign-in, then set it up on your new device: that gives you new recovery codes too.',
    ],
    after: ['If it was not you, tell your administrator at once: your password and a recovery code are known to someone else.'],
    ...staffFooter(ctx),
  });
}

export function twoFactorResetEmail(ctx: MailContext, d: { to: string; name: string }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'staff_totp_reset',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: your two-factor sign-in was reset`,
    greeting: `Dear ${d.name},`,
    paragraphs: [
      'An administrator reset the two-factor sign-in of your staff account, and every session of it was ended. Your old authenticator entry and recovery codes no longer work.',
      `At your next sign-in at ${ctx.baseUrl}/admin/login you set up two-factor sign-in again, on the device you will use from now on.`,
    ],
    after: ['If you did not ask for this, tell your administrator at once.'],
    ...staffFooter(ctx),
  });
}
