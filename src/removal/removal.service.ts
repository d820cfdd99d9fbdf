import { checkLimits } from '../shared/rate-limit.js';
import { inTransaction } from '../db.js';
import { consumeMemberToken, issueMemberToken, peekMemberToken } from '../identity/member-tokens.js';
import { findActiveMember, type MemberRow } from '../identity/members.repository.js';
import type { Knex } from 'knex';
import { ConflictError, InvalidLinkError, NotFoundError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import { removalCancelledEmail, removalConfirmedEmail, removalConfirmEmail } from './removal.emails.js';
import {
  cancelRemovalRequest,
  confirmRemovalRequest,
  findOpenRemovalRequest,
  findRemovalRequest,
  openRemovalRequest,
  type RemovalRequestRow,
} from './removal.repository.js';

/**
 * The member's side of a removal request (C6): asking, confirming from a fresh single-use link,
 * and cancelling. Each status change commits together with the e-mail that reports it (C14).
 * Carrying the removal out, and legal holds, belong to staff processing, not here.
 */

export const REMOVAL_LINK_MINUTES = 60;
const PER_MEMBER: Limit = { action: 'removal-link:member', windowSeconds: 3600, max: 5 };

const LINK_INVALID = 'This removal link has expired or was already used. Sign in and open "Remove your data" to ask for a new one.';

/** Mailed (and where to), or not because a confirmed or held request is already open. */
export type RequestOutcome = { sent: true; sentTo: string } | { sent: false; request: RemovalRequestRow };
export interface ConfirmOutcome {
  request: RemovalRequestRow;
  /** False when this link found the request already confirmed, held, cancelled or done. */
  justConfirmed: boolean;
}

async function activeMember(trx: Knex.Transaction, memberId: string): Promise<MemberRow & { email: string }> {
  const member = await findActiveMember(trx, memberId);
  if (!member?.email) throw new NotFoundError('We could not find that membership. It may have been removed.');
  return member as MemberRow & { email: string };
}

/** The member's open request (unconfirmed, confirmed or held), if any. */
export async function currentRemoval(svc: ServiceContext, memberId: string): Promise<RemovalRequestRow | undefined> {
  return findOpenRemovalRequest(svc.db, memberId);
}

/**
 * A session alone does not remove anyone: it only mails a fresh single-use link to the member's
 * address. An open unconfirmed request is reused (a new link is sent for it); a confirmed or held
 * one is returned unchanged, with no mail, so the page can say so.
 */
export async function requestRemoval(svc: ServiceContext, memberId: string): Promise<RequestOutcome> {
  await checkLimits(svc.db, [[PER_MEMBER, memberId]]);
  return inTransaction(svc.db, async (trx) => {
    const member = await activeMember(trx, memberId);
    const request = await openRemovalRequest(trx, memberId);
    if (request.status !== 'unconfirmed') return { sent: false, request };
    const token = await issueMemberToken(trx, memberId, 'removal', REMOVAL_LINK_MINUTES, { requestId: request.id });
    await queueMail(
      trx,
      svc,
      removalConfirmEmail(svc.mail, {
        to: member.email,
        memberId,
        name: member.name,
        manageUrl: svc.links.manage(memberId),
        url: svc.links.action('/l/removal', token),
        minutes: REMOVAL_LINK_MINUTES,
        graceDays: svc.config.removalGraceDays,
      }),
    );
    return { sent: true, sentTo: member.email };
  });
}

/** What a removal link points at, without using it: the GET page shows a button and changes nothing. */
export async function findRemovalForLink(svc: ServiceContext, token: string): Promise<RemovalRequestRow> {
  const live = await peekMemberToken(svc.db, token, 'removal');
  const request = live && (await findRemovalRequest(svc.db, String(live.data.requestId), live.memberId));
  if (!request) throw new InvalidLinkError(LINK_INVALID);
  return request;
}

/**
 * Uses the link once and confirms its request: the due date is set by the database, and the
 * confirmation mail states it. The token is consumed in the same transaction, so a failure leaves
 * the link usable. A request that is no longer unconfirmed is reported as it is, never a 500.
 */
export async function confirmRemoval(svc: ServiceContext, token: string): Promise<ConfirmOutcome> {
  return inTransaction(svc.db, async (trx) => {
    const live = await consumeMemberToken(trx, token, 'removal');
    if (!live) throw new InvalidLinkError(LINK_INVALID);
    const requestId = String(live.data.requestId);
    const confirmed = await confirmRemovalRequest(trx, requestId, live.memberId, svc.config.removalGraceDays);
    if (!confirmed) {
      const request = await findRemovalRequest(trx, requestId, live.memberId);
      if (!request) throw new InvalidLinkError(LINK_INVALID);
      return { request, justConfirmed: false };
    }
    const member = await activeMember(trx, live.memberId);
    await queueMail(
      trx,
      svc,
      removalConfirmedEmail(svc.mail, {
        to: member.email,
        memberId: member.id,
        name: member.name,
        manageUrl: svc.links.manage(member.id),
        dueAt: confirmed.due_at as Date,
      }),
    );
    return { request: confirmed, justConfirmed: true };
  });
}

/** The member withdraws an unconfirmed or confirmed request; a hold is lifted only by staff. */
export async function cancelRemoval(svc: ServiceContext, memberId: string): Promise<RemovalRequestRow> {
  return inTransaction(svc.db, async (trx) => {
    const open = await findOpenRemovalRequest(trx, memberId);
    if (open?.status === 'held') {
      throw new ConflictError(
        `Your removal request is on hold, so it cannot be cancelled here. Please write to ${svc.mail.privacyContact}.`,
      );
    }
    const cancelled = open && (await cancelRemovalRequest(trx, open.id, memberId));
    if (!cancelled) throw new ConflictError('You have no removal request to cancel.');
    const member = await activeMember(trx, memberId);
    await queueMail(
      trx,
      svc,
      removalCancelledEmail(svc.mail, {
        to: member.email,
        memberId,
        name: member.name,
        manageUrl: svc.links.manage(memberId),
        dueAt: open.status === 'confirmed' ? open.due_at : null,
      }),
    );
    return cancelled;
  });
}
