import type { BuiltEmail, MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import { formatDateTime } from '../shared/time.js';

/** To each admin when an endpoint that kept failing is disabled (issue 12.3): transactional, staff mail. */
export function webhookDisabledEmail(
  ctx: MailContext,
  d: { to: string; name: string; endpointId: number; url: string; failingSince: Date; lastError: string },
): BuiltEmail {
  return memberMessageEmail(ctx, {
    kind: 'webhook_disabled',
    to: d.to,
    memberId: null,
    subject: `${ctx.orgName}: a webhook endpoint was disabled`,
    greeting: `Dear ${d.name},`,
    paragraphs: [
      `The webhook endpoint ${d.url} has failed every delivery since ${formatDateTime(d.failingSince, ctx.timeZone)}, so Assent has stopped sending to it. The last answer was: ${d.lastError}`,
      'Events recorded from now on are not sent to it. Deliveries that were waiting are kept in its delivery log, marked failed.',
    ],
    after: [
      `Once the receiver works again, enable the endpoint and resend what it missed at ${ctx.baseUrl}/admin/webhooks/${d.endpointId}.`,
    ],
  });
}
