import type { Knex } from 'knex';
import { policyNoticeEmail } from './policies.emails.js';
import { findActiveMember } from '../members/members.repository.js';
import { queueMail, type ServiceContext } from '../shared/service-context.js';
import { isSuppressed } from '../shared/suppression.js';
import type { PolicyVersionRow } from './policies.repository.js';

/**
 * C7: queues the notice of an upcoming policy version to one member, with their manage link
 * (to choose a new use, C8) and their unsubscribe link (it is bulk mail, C4). The publishing
 * fan-out (fanout.ts) calls it once per member. A member without a deliverable address (not
 * active, no e-mail, marked undeliverable, or on the suppression list, C6/C12) gets nothing:
 * the answer is then null, otherwise the id of the queued message.
 */
export async function queuePolicyNotice(
  trx: Knex.Transaction,
  svc: ServiceContext,
  memberId: string,
  policy: PolicyVersionRow,
): Promise<string | null> {
  const member = await findActiveMember(trx, memberId);
  if (!member?.email || !policy.effective_at) return null;
  // The row is read whole; the bounce flag came with a later migration than MemberRow's fields.
  const undeliverable = (member as { email_undeliverable_at?: Date | null }).email_undeliverable_at;
  if (undeliverable || (await isSuppressed(trx, member.email, svc.keys.suppression))) return null;
  return queueMail(
    trx,
    svc,
    policyNoticeEmail(svc.mail, {
      to: member.email,
      memberId,
      memberName: member.name,
      version: policy.version,
      title: policy.title,
      summary: policy.summary,
      effectiveAt: policy.effective_at,
      introducesNewUse: policy.introduces_new_use,
      manageUrl: svc.links.manage(memberId),
      unsubscribe: svc.links.unsubscribe(memberId, 'all'),
    }),
  );
}
