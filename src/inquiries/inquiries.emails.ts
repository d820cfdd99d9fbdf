import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { formatDay } from '../shared/time.js';

/**
 * A staff reply to a question from the public (C12): transactional, to the address the question
 * came from, about that question only. It may reach an address on the suppression list: its owner
 * wrote to us, and a data question must be answered. No one confirmed that address, so the
 * greeting names no one: the name was typed by whoever sent the form, and mail to an unconfirmed
 * address does not show it (as a sign-up confirmation does not).
 */
export function inquiryReplyEmail(ctx: MailContext, d: { to: string; body: string; asked: Date }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'inquiry_reply',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: our answer to your question`,
    greeting: 'Hello,',
    paragraphs: d.body
      .split(/\n{2,}/)
      .map((p) => p.trim())
      .filter(Boolean),
    after: [
      `You wrote to us on ${formatDay(d.asked, ctx.timeZone)}. We use your name and address only to answer you, and delete your question and our answer some time after it is closed.`,
    ],
    manageNote: `if you are a member, sign in at ${ctx.baseUrl}/manage and we e-mail you a link to your preferences.`,
    why: 'This e-mail answers the question you sent us, so we send it whatever your choices.',
    reachesSuppressed: true,
  });
}
