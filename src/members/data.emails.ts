import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

/** The single-use link to "my data" (C5): transactional, to the member's own address. */
export function dataLinkEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; url: string; minutes: number; manageUrl: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'data_link',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your link to see your data`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [
      'Here is your link to see and download everything we hold about you: your details, your choices and their history, the e-mails we sent you, any disclosure to a partner and any removal request.',
      `It works once, for ${d.minutes} minutes.`,
    ],
    action: { label: 'See my data', url: d.url },
    after: [`If you did not ask for this, nothing happens until the link is used; please tell us at ${ctx.privacyContact}.`],
    manageUrl: d.manageUrl,
  });
}
