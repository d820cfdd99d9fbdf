import { z } from 'zod';
import { listOfferedTopics } from '../consent/consent.repository.js';
import { groupedByKind } from '../consent/consent.service.js';
import { topicIds } from '../consent/consent.schemas.js';
import type { ServiceContext } from '../context.js';
import { inTransaction } from '../db.js';
import { welcomeNewMember } from '../members/join.service.js';
import { findActiveMemberByEmail, insertActiveMember } from '../identity/members.repository.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { AppError, InvalidLinkError, ValidationError } from '../shared/errors.js';
import { hashToken, isWellFormedSecret } from '../shared/secrets.js';
import { findLiveInvitation, takeInvitation } from './invitations.repository.js';

const EXPIRED = 'This link has expired or was already used. If you want to hear from us, you can join on our site.';

/** InvitationAnswer: what the person on an imported list chooses, and their age (C13). */
export function InvitationAnswer(minAge: number) {
  return z.object({
    topics: topicIds,
    age_confirmed: z.literal('yes', { message: `Please confirm that you are ${minAge} or older. Membership is not open to children.` }),
  });
}

export async function invitationPage(svc: ServiceContext, token: string) {
  const inv = isWellFormedSecret(token) ? await findLiveInvitation(svc.db, hashToken(token)) : undefined;
  if (!inv) throw new InvalidLinkError(EXPIRED);
  const [topics, policy] = await Promise.all([listOfferedTopics(svc.db), findPolicyInForce(svc.db)]);
  return { groups: groupedByKind(topics, (t) => t.kind), policy };
}

/**
 * The owner of an imported address answers the re-permission mail (C15): only now do they become
 * a member, with exactly the choices they tick here (none is pre-ticked, C1), recorded as their
 * own sign-up under the policy in force (C8), and the welcome mail says what they chose (C14).
 */
export async function answerInvitation(
  svc: ServiceContext,
  token: string,
  input: z.infer<ReturnType<typeof InvitationAnswer>>,
): Promise<{ memberId: string; alreadyMember: boolean }> {
  if (!isWellFormedSecret(token)) throw new InvalidLinkError(EXPIRED);
  return inTransaction(svc.db, async (trx) => {
    const [policy, offered] = await Promise.all([findPolicyInForce(trx), listOfferedTopics(trx)]);
    if (!policy) throw new AppError('Joining opens once our privacy policy is published.', 503, 'no_policy');
    if (input.topics.some((id) => !offered.some((t) => t.id === id)))
      throw new ValidationError(
        { topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' },
        { ...input },
      );
    const inv = await takeInvitation(trx, hashToken(token));
    if (!inv) throw new InvalidLinkError(EXPIRED);
    const existing = await findActiveMemberByEmail(trx, inv.email);
    if (existing) return { memberId: existing.id, alreadyMember: true };
    const memberId = await insertActiveMember(trx, {
      email: inv.email,
      name: inv.name ?? '',
      postal_address: inv.postal_address,
      phone: inv.phone,
    });
    await trx('members').where({ id: memberId }).update({ import_id: inv.import_id, name: inv.name });
    await welcomeNewMember(trx, svc, {
      memberId,
      email: inv.email,
      greetingName: inv.name ?? 'member',
      chosen: offered.filter((t) => input.topics.includes(t.id)),
      policyVersionId: policy.id,
    });
    return { memberId, alreadyMember: false };
  });
}
