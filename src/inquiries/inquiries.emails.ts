import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';

/**
 * A staff reply to a question from the public (C12): transactional, to the address the question
 * came from, about that question only. It may reach an address on the suppression list: its owner
 * wrote to us, and a data question must be answered.
 */
export function inquiryReplyEmail(ctx: MailContext, d: { to: string; name: string; body: string; asked: string }): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'inquiry_reply',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: our answer to your question`,
    greeting: `Dear ${d.name},`,
    paragraphs: d.body
      .split(/\n{2,}/)
      .map((p) => p.trim())
      .filter(Boolean),
    after: [
      `You wrote to us on ${d.asked}. We use your name and address only to answer you, and delete your question and our answer some time after it is closed.`,
    ],
    reachesSuppressed: true,
  });
}
