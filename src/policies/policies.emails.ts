import { composeEmail, type BuiltEmail, type MailContext, type UnsubscribeLink } from '../mail/email.js';
import { renderEmailTemplates } from '../mail/render.js';

/**
 * The policy change notice (C7, C8): non-transactional, so it carries the member's unsubscribe
 * link and the one-click headers (C4). A pure builder: sending is the worker's job.
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
