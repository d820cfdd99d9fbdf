import type { MailContext } from '../mail/email.js';
import { memberMessageEmail } from '../mail/member-message.js';
import type { ConsentChange } from './consent.repository.js';

const label = (s: string | null) => (s === 'opted_in' ? 'subscribed' : 'not subscribed');

export function describeChange(c: ConsentChange): string {
  return `${c.topic.name}: now ${label(c.to)} (before: ${label(c.from)})`;
}

/** C14: states each change and how to undo it. */
export function preferencesChangedEmail(
  ctx: MailContext,
  d: { to: string; memberId: string; name: string | null; changes: ConsentChange[]; manageUrl: string; how: string },
) {
  return memberMessageEmail(ctx, {
    kind: 'preferences_changed',
    to: d.to,
    memberId: d.memberId,
    subject: `${ctx.orgName}: your communication preferences have changed`,
    greeting: `Dear ${d.name ?? 'member'},`,
    paragraphs: [`These changes to what we send you were recorded ${d.how}:`],
    list: d.changes.map(describeChange),
    action: { label: 'Review or undo these changes', url: d.manageUrl },
    after: [
      `If you did not make these changes, open your preferences with the link in this e-mail to set them back, or write to ${ctx.privacyContact}.`,
    ],
    manageUrl: d.manageUrl,
  });
}
