import { composeEmail, type BuiltEmail, type MailContext, type UnsubscribeLink } from './email.js';
import { renderEmailTemplates } from './render.js';

/**
 * E-mail builders are pure: (context, data) → message. Sending is the worker's job.
 * Each builder states whether its message is transactional; non-transactional ones must
 * be given the member's unsubscribe link (composeEmail adds the headers).
 */
export interface PolicyNoticeData {
  to: string;
  memberId: string;
  memberName: string | null;
  version: string;
  title: string;
  summary: string;
  effectiveAt: Date;
  introducesNewUse: boolean;
  manageUrl: string;
  unsubscribe: UnsubscribeLink;
}

export function policyNoticeEmail(ctx: MailContext, d: PolicyNoticeData): BuiltEmail {
  const effective = d.effectiveAt.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const subject = `${ctx.orgName}: our privacy policy changes on ${effective}`;
  const { html, text } = renderEmailTemplates('policy-notice', {
    ctx,
    d,
    effective,
    subject,
    policyUrl: `${ctx.baseUrl}/privacy`,
  });
  return composeEmail({ kind: 'policy_notice', to: d.to, memberId: d.memberId, subject, html, text }, ctx, {
    transactional: false,
    unsubscribe: d.unsubscribe,
  });
}
