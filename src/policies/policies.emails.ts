import { composeEmail, type BuiltEmail, type MailContext, type UnsubscribeLink } from '../mail/email.js';
import { renderEmailTemplates } from '../mail/render.js';
import { formatDateTime, formatDay } from '../shared/time.js';

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

/** The subject names the day, the body the time with its zone, both in the organisation's zone. */
function renderNotice(ctx: MailContext, d: Omit<PolicyNoticeData, 'to' | 'memberId'>, test = false) {
  const subject = `${test ? '[Test] ' : ''}${ctx.orgName}: our privacy policy changes on ${formatDay(d.effectiveAt, ctx.timeZone)}`;
  const effective = formatDateTime(d.effectiveAt, ctx.timeZone);
  return { subject, ...renderEmailTemplates('policy-notice', { ctx, d, effective, subject, test, policyUrl: `${ctx.baseUrl}/privacy` }) };
}

export function policyNoticeEmail(ctx: MailContext, d: PolicyNoticeData): BuiltEmail {
  const { subject, html, text } = renderNotice(ctx, d);
  return composeEmail({ kind: 'policy_notice', to: d.to, memberId: d.memberId, subject, html, text }, ctx, {
    transactional: false,
    unsubscribe: d.unsubscribe,
  });
}

/**
 * "Send the notice to me first" (issue 13.2): the notice exactly as members will get it, to the
 * staff user's own address before publication, marked as a test. It greets a sample member and its
 * links lead to the page where a member asks for their own link; it belongs to no member, so it
 * carries no one-click header.
 */
export function policyNoticeTestEmail(
  ctx: MailContext,
  to: string,
  d: Pick<PolicyNoticeData, 'version' | 'title' | 'summary' | 'effectiveAt' | 'introducesNewUse'>,
): BuiltEmail {
  const manageUrl = `${ctx.baseUrl}/manage`;
  const { subject, html, text } = renderNotice(
    ctx,
    { ...d, memberName: 'Alex Example', manageUrl, unsubscribe: { url: manageUrl, token: 'sample' } },
    true,
  );
  return composeEmail({ kind: 'policy_notice_test', to, memberId: null, subject, html, text }, ctx, { transactional: true });
}
