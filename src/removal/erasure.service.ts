import type { Knex } from 'knex';
import { lockMember } from '../identity/members.repository.js';
import type { RemovalRequestRow } from './removal.repository.js';
import { appendAudit } from '../audit/audit.repository.js';
import { recordConsentEvent } from '../consent/consent.repository.js';
import { inTransaction } from '../db.js';
import { recordWebhookEvent } from '../events/webhook-events.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { queueMail, type ServiceContext } from '../context.js';
import { addressHash, suppressAddress } from '../shared/suppression.js';
import { removalCompletedEmail, removalHeldEmail, removalReleasedEmail } from './erasure.emails.js';
import { deleteMemberTraces, eraseMemberRow, scrubMessagesOf, topicsToOptOut } from './erasure.repository.js';
import {
  countPartnersReached,
  findFollowUpForUpdate,
  listDoneFollowUps,
  listOpenFollowUps,
  markFollowUpDone,
  openFollowUps,
  type FollowUpRow,
} from './follow-ups.repository.js';
import {
  completeRequest,
  findRequestById,
  holdRequest,
  listOpenQueue,
  listRecentlyCompleted,
  lockNextDueRequest,
  lockRequest,
  releaseRequest,
} from './removal.repository.js';

/**
 * Staff processing of removal requests and carrying them out (C6). Every status change the member
 * did not make is mailed to them in the same transaction (C14), and audited with ids only.
 */

const NOT_FOUND = 'We could not find that removal request.';
const RECENT = 20;

export async function removalQueue(svc: ServiceContext): Promise<{ open: RemovalRequestRow[]; completed: RemovalRequestRow[] }> {
  const [open, completed] = await Promise.all([listOpenQueue(svc.db), listRecentlyCompleted(svc.db, RECENT)]);
  return { open, completed };
}

async function lockOrNotFound(trx: Knex.Transaction, id: string): Promise<RemovalRequestRow> {
  const request = await lockRequest(trx, id);
  if (!request) throw new NotFoundError(NOT_FOUND);
  return request;
}

async function liveMember(trx: Knex.Transaction, memberId: string): Promise<{ id: string; email: string; name: string | null }> {
  const member = await lockMember(trx, memberId);
  if (!member?.email || member.status !== 'active') throw new ConflictError('This member has no live record any more.');
  return { id: member.id, email: member.email, name: member.name };
}

/** A legal hold with its reason: the request is not carried out, by staff or the schedule, until released. */
export async function holdRemoval(svc: ServiceContext, id: string, staffUserId: string, reason: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const request = await lockOrNotFound(trx, id);
    if (request.status !== 'confirmed')
      throw new ConflictError(`Only a confirmed request can be put on hold; this one is ${request.status}.`);
    const member = await liveMember(trx, request.member_id);
    await holdRequest(trx, id, reason);
    await queueMail(
      trx,
      svc,
      removalHeldEmail(svc.mail, { to: member.email, memberId: member.id, name: member.name, manageUrl: svc.links.manage(member.id) }),
    );
    await appendAudit(trx, { staffUserId, action: 'removal.held', memberId: member.id, details: { requestId: id } });
  });
}

/** Lifts a hold: the request is confirmed again with its due date, so a past date means the next scheduled run. */
export async function releaseRemoval(svc: ServiceContext, id: string, staffUserId: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const request = await lockOrNotFound(trx, id);
    if (request.status !== 'held') throw new ConflictError(`Only a request on hold can be released; this one is ${request.status}.`);
    const member = await liveMember(trx, request.member_id);
    await releaseRequest(trx, id);
    await queueMail(
      trx,
      svc,
      removalReleasedEmail(svc.mail, {
        to: member.email,
        memberId: member.id,
        name: member.name,
        manageUrl: svc.links.manage(member.id),
        dueAt: request.due_at as Date,
        now: new Date(),
      }),
    );
    await appendAudit(trx, { staffUserId, action: 'removal.released', memberId: member.id, details: { requestId: id } });
  });
}

/**
 * Carries out a locked, confirmed request, in the caller's transaction: all of it or none of it.
 *
 * The completion e-mail is queued first, while the address still exists; its outbox row is then the
 * only place the address survives, and the send task scrubs it once sent or finally failed. The
 * consent ledger is append-only and keeps its rows: they hold only the member uuid, topic, statuses,
 * source, channel and times, so once the member row holds no personal data they are anonymised
 * history. The opt-outs recorded here (source 'erasure') make the current state explicit, so no
 * audience built from consents includes the member; the database refuses any later opt-in.
 */
async function carryOut(trx: Knex.Transaction, svc: ServiceContext, request: RemovalRequestRow, staffUserId: string | null): Promise<void> {
  const member = await lockMember(trx, request.member_id);
  if (!member || member.status === 'erased') throw new ConflictError('This member is already erased.');
  const email = member.email;
  const partners = await openFollowUps(trx, request.id, member.id);

  let completionId: string | null = null;
  if (email) {
    completionId = await queueMail(
      trx,
      svc,
      removalCompletedEmail(svc.mail, {
        to: email,
        memberId: member.id,
        name: member.name,
        completedAt: new Date(),
        partners: partners.map((p) => p.partner_name),
      }),
    );
    await suppressAddress(trx, email, svc.keys.suppression);
    // The keyed hash the suppression list keeps (C6), never the address: receivers find their copy by it.
    const hash = addressHash(email, svc.keys.suppression.write);
    await recordWebhookEvent(trx, 'member.erased', { member_id: member.id, address_hash: hash });
    await recordWebhookEvent(trx, 'suppression.added', { address_hash: hash, reason: 'erased' });
  }

  const policy = await findPolicyInForce(trx);
  for (const topic of await topicsToOptOut(trx, member.id)) {
    await recordConsentEvent(trx, {
      memberId: member.id,
      topicId: topic.topic_id,
      from: topic.from_status,
      to: 'opted_out',
      source: 'erasure',
      channel: 'system',
      policyVersionId: policy?.id ?? topic.introduced_in_policy_version_id,
    });
  }

  if (email) {
    await scrubMessagesOf(trx, member.id, email, completionId);
    await deleteMemberTraces(trx, member.id, email);
  }
  await eraseMemberRow(trx, member.id);
  await completeRequest(trx, request.id);
  await appendAudit(trx, {
    staffUserId,
    action: 'removal.carried_out',
    memberId: member.id,
    details: { requestId: request.id, followUps: partners.length, by: staffUserId ? 'staff' : 'schedule' },
  });
}

/** Staff carry out a confirmed request now, before its due date. */
/**
 * What carrying a request out now would do, for the confirmation step (issue 13.2): the request
 * (its due date) and how many partners would get a follow-up. Refuses as carrying out would.
 */
export async function carryOutPreview(svc: ServiceContext, id: string): Promise<{ request: RemovalRequestRow; partners: number }> {
  const request = await findRequestById(svc.db, id);
  if (!request) throw new NotFoundError(NOT_FOUND);
  if (request.status !== 'confirmed')
    throw new ConflictError(`Only a confirmed request can be carried out; this one is ${request.status}.`);
  return { request, partners: await countPartnersReached(svc.db, request.member_id) };
}

export async function carryOutRemovalNow(svc: ServiceContext, id: string, staffUserId: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const request = await lockOrNotFound(trx, id);
    if (request.status !== 'confirmed')
      throw new ConflictError(`Only a confirmed request can be carried out; this one is ${request.status}.`);
    await carryOut(trx, svc, request, staffUserId);
  });
}

/**
 * The scheduled run: every confirmed request past its due date, each in its own transaction. A
 * request another worker is carrying out is skipped (SKIP LOCKED); one that fails is logged by the
 * caller and not retried in this run, so the others still go ahead.
 */
export async function carryOutDueRemovals(
  svc: ServiceContext,
  onError: (requestId: string, err: unknown) => void = () => {},
): Promise<{ completed: string[]; failed: string[] }> {
  const completed: string[] = [];
  const failed: string[] = [];
  for (;;) {
    let picked: string | undefined;
    try {
      picked = await inTransaction(svc.db, async (trx) => {
        const request = await lockNextDueRequest(trx, failed);
        if (!request) return undefined;
        picked = request.id;
        await carryOut(trx, svc, request, null);
        return request.id;
      });
    } catch (err) {
      if (!picked) throw err;
      failed.push(picked);
      onError(picked, err);
      continue;
    }
    if (!picked) break;
    completed.push(picked);
  }
  return { completed, failed };
}

export async function followUpLists(svc: ServiceContext): Promise<{ open: FollowUpRow[]; done: FollowUpRow[] }> {
  const [open, done] = await Promise.all([listOpenFollowUps(svc.db), listDoneFollowUps(svc.db, 50)]);
  return { open, done };
}

/** A partner has confirmed (or been asked, by the organisation's procedure) to delete the member's data. */
export async function completeFollowUp(svc: ServiceContext, id: string, staffUserId: string): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    const followUp = await findFollowUpForUpdate(trx, id);
    if (!followUp) throw new NotFoundError('We could not find that follow-up.');
    if (followUp.done_at) throw new ConflictError('This follow-up is already marked done.');
    await markFollowUpDone(trx, id, staffUserId);
    await appendAudit(trx, {
      staffUserId,
      action: 'follow_up.done',
      details: { followUpId: id, requestId: followUp.removal_request_id, partnerId: followUp.partner_id },
    });
  });
}
