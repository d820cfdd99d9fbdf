import type { z } from 'zod';
import { checkLimits } from '../shared/rate-limit.js';
import type { Knex } from 'knex';
import { consentEventsCte, listOfferedTopics, recordConsentEvents, type TopicRow } from '../consent/consent.repository.js';
import { recordWebhookEvent } from '../events/webhook-events.js';
import { groupedByKind } from '../consent/consent.service.js';
import { inTransaction } from '../db.js';
import { noticeNewMember } from '../policies/notices.service.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { AppError, InvalidLinkError, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { hashToken, isWellFormedSecret, newSecretToken } from '../shared/secrets.js';
import { queueMail, type ServiceContext } from '../context.js';
import { unsuppressAddress } from '../shared/suppression.js';
import { alreadyMemberEmail, preferencesLinkEmail, signupConfirmEmail, welcomeEmail } from './join.emails.js';
import type { JoinRequest } from './join.schemas.js';
import {
  findLivePendingSignup,
  findUsedSignupLink,
  insertPendingSignup,
  rememberUsedSignupLinks,
  takePendingSignup,
  type PendingSignupRow,
} from './join.repository.js';
import {
  emailInUse,
  findActiveMember,
  findActiveMemberByEmail,
  insertActiveMember,
  type MemberRow,
} from '../identity/members.repository.js';
import type { DbOrTx } from '../db.js';

const PER_ADDRESS: Limit = { action: 'join:address', windowSeconds: 3600, max: 5 };
const PER_NETWORK: Limit = { action: 'join:network', windowSeconds: 3600, max: 30 };
const LINK_PER_MEMBER: Limit = { action: 'join-used-link:member', windowSeconds: 3600, max: 5 };
const LINK_PER_NETWORK: Limit = { action: 'join-used-link:network', windowSeconds: 3600, max: 30 };

const LINK_GONE = 'This confirmation link has expired or was already used. If you still want to join, please sign up again.';

export type JoinInput = z.infer<ReturnType<typeof JoinRequest>>;

/**
 * A sign-up waits, apart from members, until the address owner confirms it (C15). A known
 * address gets the same answer on the page, and its owner an e-mail with their link instead
 * (no enumeration). Consents take effect only on confirmation, under the policy version the
 * visitor saw (C8).
 *
 * An erased (suppressed, C6) address is treated like any new one: the same page, and only the
 * double opt-in confirmation mail, the one kind the send task lets through to a suppressed address.
 * Nothing else reaches it unless its owner confirms. The app has no import path; one that is added
 * must check isSuppressed (src/shared/suppression.ts) for every address and leave suppressed ones out.
 */
export async function requestJoin(svc: ServiceContext, input: JoinInput, network: string): Promise<void> {
  await checkLimits(svc.db, [
    [PER_ADDRESS, input.email],
    [PER_NETWORK, network],
  ]);
  await inTransaction(svc.db, async (trx) => {
    const policy = await findPolicyInForce(trx);
    const topics = await listOfferedTopics(trx);
    if (!policy) throw new AppError('Joining opens once our privacy policy is published.', 503, 'no_policy');
    const offered = new Set(topics.map((t) => t.id));
    if (input.topics.some((id) => !offered.has(id))) {
      throw new ValidationError(
        { topics: 'One of the choices is not a topic we offer. Please reload the page and try again.' },
        { ...input, age_confirmed: 'yes' },
      );
    }
    const member = await findActiveMemberByEmail(trx, input.email);
    if (member?.email) {
      await queueMail(
        trx,
        svc,
        alreadyMemberEmail(svc.mail, { to: member.email, memberId: member.id, name: member.name, manageUrl: svc.links.manage(member.id) }),
      );
      return;
    }
    if (await emailInUse(trx, input.email)) return;
    const token = newSecretToken();
    await insertPendingSignup(trx, {
      email: input.email,
      name: input.name,
      postal_address: input.postal_address,
      phone: input.phone,
      topic_ids: input.topics,
      policy_version_id: policy.id,
      token_hash: hashToken(token),
      expiresInHours: svc.config.signupExpiryHours,
    });
    const chosen = topics.filter((t) => input.topics.includes(t.id)).map((t) => t.name);
    await queueMail(
      trx,
      svc,
      signupConfirmEmail(svc.mail, {
        to: input.email,
        chosen,
        url: svc.links.action('/join/confirm', token),
        expiryHours: svc.config.signupExpiryHours,
      }),
    );
  });
}

/**
 * The member a used confirmation link confirmed (issue 13.10), while the link is remembered and the
 * member is still active at the address the link was sent to: after an e-mail change the old
 * link no longer speaks for the membership (C11), and answers like any spent link.
 */
async function memberOfUsedLink(db: DbOrTx, token: string): Promise<(MemberRow & { email: string }) | undefined> {
  const used = await findUsedSignupLink(db, hashToken(token));
  const member = used && (await findActiveMember(db, used.member_id));
  if (!member?.email || (member.links_valid_from && member.links_valid_from > used!.confirmed_at)) return undefined;
  return member as MemberRow & { email: string };
}

export type SignupLink = { pending: PendingSignupRow; alreadyConfirmed?: never } | { alreadyConfirmed: true; pending?: never };

/** A confirmation link's sign-up, or the news that it already confirmed a membership; otherwise a spent-link error. */
export async function findSignupForLink(svc: ServiceContext, token: string): Promise<SignupLink> {
  if (!isWellFormedSecret(token)) throw new InvalidLinkError(LINK_GONE);
  const pending = await findLivePendingSignup(svc.db, hashToken(token));
  if (pending) return { pending };
  if (await memberOfUsedLink(svc.db, token)) return { alreadyConfirmed: true };
  throw new InvalidLinkError(LINK_GONE);
}

/**
 * From a used confirmation link's page: the member's preference link, mailed to their address
 * (never shown on the page: a forwarded or leaked confirmation mail must not open the preferences).
 * Returns the address it went to.
 */
export async function sendPreferencesLinkForUsedLink(svc: ServiceContext, token: string, network: string): Promise<string> {
  if (!isWellFormedSecret(token)) throw new InvalidLinkError(LINK_GONE);
  const member = await memberOfUsedLink(svc.db, token);
  if (!member) throw new InvalidLinkError(LINK_GONE);
  await checkLimits(svc.db, [
    [LINK_PER_MEMBER, member.id],
    [LINK_PER_NETWORK, network],
  ]);
  await inTransaction(svc.db, (trx) =>
    queueMail(
      trx,
      svc,
      preferencesLinkEmail(svc.mail, { to: member.email, memberId: member.id, name: member.name, manageUrl: svc.links.manage(member.id) }),
    ),
  );
  return member.email;
}

/** Confirms a sign-up: the member, their consents (source signup) and the welcome e-mail commit together. */
export async function confirmJoin(
  svc: ServiceContext,
  token: string,
): Promise<{ memberId: string; alreadyMember: boolean } | { alreadyConfirmed: true }> {
  if (!isWellFormedSecret(token)) throw new InvalidLinkError(LINK_GONE);
  return inTransaction(svc.db, async (trx) => {
    const pending = await takePendingSignup(trx, hashToken(token));
    if (!pending) {
      // Pressed twice, or a sibling link of a sign-up confirmed already: say so, change nothing.
      if (await memberOfUsedLink(trx, token)) return { alreadyConfirmed: true as const };
      throw new InvalidLinkError(LINK_GONE);
    }
    const existing = await findActiveMemberByEmail(trx, pending.email);
    if (existing) {
      await rememberUsedSignupLinks(trx, existing.id, pending.linkHashes);
      return { memberId: existing.id, alreadyMember: true };
    }
    // The owner confirmed the address afresh (C6, C15): it is no longer suppressed.
    await unsuppressAddress(trx, pending.email, svc.keys.suppression);
    const memberId = await insertActiveMember(trx, {
      email: pending.email,
      name: pending.name,
      postal_address: pending.postal_address,
      phone: pending.phone,
    });
    await rememberUsedSignupLinks(trx, memberId, pending.linkHashes);
    const offered = await listOfferedTopics(trx);
    await welcomeNewMember(trx, svc, {
      memberId,
      email: pending.email,
      greetingName: pending.name,
      chosen: offered.filter((t) => pending.topic_ids.includes(t.id)),
      policyVersionId: pending.policy_version_id,
    });
    return { memberId, alreadyMember: false };
  });
}

/**
 * The end of every sign-up, from the join form or from an import's invitation, in the caller's
 * transaction: the member's first choices (source signup, one statement), the welcome e-mail, the
 * notice of a policy in its notice period (C7), and member.confirmed for the systems that follow.
 */
export async function welcomeNewMember(
  trx: Knex.Transaction,
  svc: ServiceContext,
  m: { memberId: string; email: string; greetingName: string; chosen: TopicRow[]; policyVersionId: number },
): Promise<void> {
  if (m.chosen.length > 0)
    await recordConsentEvents(
      trx,
      consentEventsCte(
        m.memberId,
        m.chosen.map((t) => ({ topicId: t.id, from: null, to: 'opted_in' as const })),
        { source: 'signup', channel: 'web', policyVersionId: m.policyVersionId },
      ),
    );
  await queueMail(
    trx,
    svc,
    welcomeEmail(svc.mail, {
      to: m.email,
      memberId: m.memberId,
      name: m.greetingName,
      chosen: m.chosen.map((t) => t.name),
      manageUrl: svc.links.manage(m.memberId),
    }),
  );
  await noticeNewMember(trx, svc, m.memberId);
  await recordWebhookEvent(trx, 'member.confirmed', { member_id: m.memberId, topics: m.chosen.map((t) => t.slug) });
}

/**
 * What the join form offers: the topics grouped by kind, and the policy in force they are chosen
 * under (C8). Nothing is ticked until the visitor ticks it (C1), and nothing takes effect until the
 * address owner confirms (C15).
 */
export async function joinFormData(svc: ServiceContext) {
  const [topics, policy] = await Promise.all([listOfferedTopics(svc.db), findPolicyInForce(svc.db)]);
  const groups = groupedByKind(topics, (t) => t.kind);
  return { groups, policy };
}
