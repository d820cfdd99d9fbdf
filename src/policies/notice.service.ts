import type { Knex } from 'knex';
import { policyNoticeEmail } from '../mail/builders.js';
import { findActiveMember } from '../members/members.repository.js';
import { queueMail, type ServiceContext } from '../shared/service-context.js';
import type { PolicyVersionRow } from './policies.repository.js';

/**
 * C7: queues the notice of an upcoming policy version to one member, with their manage link
 * (to choose a new use, C8) and their unsubscribe link (it is bulk mail, C4). The staff
 * publishing screen fans this out in batches; it returns false for a member without a
 * deliverable address.
 */
export async function queuePolicyNotice(
  trx: Knex.Transaction,
  svc: ServiceContext,
  memberId: string,
  policy: PolicyVersionRow,
): Promise<boolean> {
  const member = await findActiveMember(trx, memberId);
  if (!member?.email || !policy.effective_at) return false;
  await queueMail(
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
  return true;
}
