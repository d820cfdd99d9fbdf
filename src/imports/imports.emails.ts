import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

export const INVITATION_KIND = 'import_invitation';

/**
 * The re-permission mail of an "ask them" import: the double opt-in (C15) in other words. Nobody
 * is a member and no choice is recorded until the owner of the address confirms what they want;
 * ignoring it is enough to hear nothing more.
 */
export function invitationEmail(ctx: MailContext, d: { to: string; url: string; days: number }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: INVITATION_KIND,
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: we are moving to a new system — confirm what you want`,
    greeting: 'Hello,',
    paragraphs: [
      `You are on ${ctx.orgName}’s member list. We are moving to a new system, and we will only keep you on it if you tell us so.`,
      `Please confirm what you want to receive: until you do, we record no choice for you and send you nothing. The link works for ${d.days} days; if you do not use it, we delete your details from the new system.`,
    ],
    action: { label: 'Confirm what I want', url: d.url },
    after: ['If you do not want to hear from us, ignore this e-mail: nothing more will be sent to you.'],
  });
}
