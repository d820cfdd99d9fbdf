import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

/** A single-use sign-in link for a member. */
export function signInLinkEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; url: string; minutes: number; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'signin_link',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your sign-in link`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [`Here is your link to sign in. It works once, for ${d.minutes} minutes.`],
    action: { label: 'Sign in', url: d.url },
    after: ['If you did not ask for this, you can ignore this e-mail: nothing happens until the link is used.'],
    manageUrl: d.manageUrl,
  });
}
