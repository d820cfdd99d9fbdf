import { endOtherSessions } from '../auth/sessions.js';
import { checkLimits } from '../shared/rate-limit.js';
import { inTransaction } from '../db.js';
import { recordWebhookEvent } from '../events/webhook-events.js';
import { ConflictError, InvalidLinkError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import {
  detailsChangedEmail,
  emailChangedEmail,
  emailChangedNoticeEmail,
  emailChangeRequestedEmail,
  emailInUseEmail,
  verifyNewEmail,
  type DetailsChange,
  type DetailsField,
} from './details.emails.js';
import { revokeMemberTokens, setMemberEmail, voidEarlierManageLinks } from './details.repository.js';
import type { ChangeEmailCommand, UpdateDetailsCommand } from './details.schemas.js';
import { consumeMemberToken, issueMemberToken, peekMemberToken } from '../identity/member-tokens.js';
import {
  clearUndeliverable,
  emailInUse,
  findActiveMember,
  lockMember,
  updateMember,
  type MemberRow,
} from '../identity/members.repository.js';

/**
 * The member's own details (C5), each change confirmed by e-mail in the same transaction (C14).
 * A new e-mail address is taken into use only from a link sent to it, and both the old and the
 * new address are told; the answer to the member never says whether an address is taken.
 */

export const EMAIL_VERIFY_MINUTES = 60;
// Per member, per new address (so no one can use many memberships to flood one mailbox) and per network.
const CHANGE_PER_MEMBER: Limit = { action: 'email-change:member', windowSeconds: 3600, max: 5 };
const CHANGE_PER_ADDRESS: Limit = { action: 'email-change:address', windowSeconds: 3600, max: 5 };
const CHANGE_PER_NETWORK: Limit = { action: 'email-change:network', windowSeconds: 3600, max: 30 };

const INVALID_LINK = 'This confirmation link has expired or was already used. Sign in and ask for a new one on your details page.';
const TAKEN_MEANWHILE =
  'That address now belongs to another membership, so your e-mail address was not changed. We still write to your old address.';

const FIELDS: DetailsField[] = ['name', 'postal_address', 'phone'];
const sameAddress = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

export async function getDetails(svc: ServiceContext, memberId: string): Promise<MemberRow> {
  const member = await findActiveMember(svc.db, memberId);
  if (!member) throw new NotFoundError();
  return member;
}

/** Saves what differs from the stored details; with no difference nothing is written and no mail is sent. */
export async function updateDetails(svc: ServiceContext, memberId: string, cmd: UpdateDetailsCommand): Promise<{ changed: boolean }> {
  return inTransaction(svc.db, async (trx) => {
    const member = await lockMember(trx, memberId, { activeOnly: true });
    if (!member?.email) throw new NotFoundError();
    const changes: DetailsChange[] = FIELDS.filter((f) => (member[f] ?? null) !== cmd[f]).map((f) => ({
      field: f,
      from: member[f] ?? null,
      to: cmd[f],
    }));
    if (changes.length === 0) return { changed: false };
    await updateMember(trx, memberId, Object.fromEntries(changes.map((c) => [c.field, c.to])));
    // Names of the changed fields only: the values stay here.
    await recordWebhookEvent(trx, 'member.updated', { member_id: memberId, fields: changes.map((c) => c.field) });
    await queueMail(
      trx,
      svc,
      detailsChangedEmail(svc.mail, { to: member.email, memberId, name: cmd.name, changes, manageUrl: svc.links.manage(memberId) }),
    );
    return { changed: true };
  });
}

/**
 * Starts an address change. A free address gets a single-use link; a taken one gets a mail
 * saying so; the old address is told either way, and the caller's answer is the same.
 */
export async function requestEmailChange(
  svc: ServiceContext,
  input: ChangeEmailCommand & { memberId: string; network: string },
): Promise<void> {
  const newEmail = input.email;
  await checkLimits(svc.db, [
    [CHANGE_PER_MEMBER, input.memberId],
    [CHANGE_PER_ADDRESS, newEmail],
    [CHANGE_PER_NETWORK, input.network],
  ]);
  await inTransaction(svc.db, async (trx) => {
    const member = await lockMember(trx, input.memberId, { activeOnly: true });
    if (!member?.email) throw new NotFoundError();
    if (sameAddress(member.email, newEmail))
      throw new ValidationError({ email: 'That is already your e-mail address.' }, { email: newEmail });
    await revokeMemberTokens(trx, member.id, 'email_verify');
    if (await emailInUse(trx, newEmail)) {
      await queueMail(trx, svc, emailInUseEmail(svc.mail, { to: newEmail }));
    } else {
      const token = await issueMemberToken(trx, member.id, 'email_verify', EMAIL_VERIFY_MINUTES, { email: newEmail });
      const url = svc.links.action('/l/email', token);
      await queueMail(trx, svc, verifyNewEmail(svc.mail, { to: newEmail, memberId: member.id, url, minutes: EMAIL_VERIFY_MINUTES }));
    }
    await queueMail(
      trx,
      svc,
      emailChangeRequestedEmail(svc.mail, {
        to: member.email,
        memberId: member.id,
        name: member.name,
        newEmail,
        minutes: EMAIL_VERIFY_MINUTES,
      }),
    );
  });
}

function addressIn(data: Record<string, unknown>): string {
  if (typeof data.email !== 'string') throw new InvalidLinkError(INVALID_LINK);
  return data.email;
}

/** What a verification link would do, without doing it: the GET page only shows a button. */
export async function peekEmailChange(svc: ServiceContext, token: unknown): Promise<{ email: string }> {
  const live = await peekMemberToken(svc.db, token, 'email_verify');
  if (!live) throw new InvalidLinkError(INVALID_LINK);
  return { email: addressIn(live.data) };
}

/**
 * Uses a verification link once. The address is checked again, as another member may have taken
 * it since the link was sent; the change and both e-mails commit together or not at all.
 */
export async function confirmEmailChange(
  svc: ServiceContext,
  token: unknown,
  keepSid?: string,
): Promise<{ email: string; changed: boolean; memberId: string }> {
  return inTransaction(svc.db, async (trx) => {
    const live = await consumeMemberToken(trx, token, 'email_verify');
    if (!live) throw new InvalidLinkError(INVALID_LINK);
    const newEmail = addressIn(live.data);
    const member = await lockMember(trx, live.memberId, { activeOnly: true });
    if (!member?.email) throw new InvalidLinkError(INVALID_LINK);
    const oldEmail = member.email;
    // Already this address (changed by other means since the link was sent): nothing to do or to confirm.
    if (sameAddress(oldEmail, newEmail)) return { email: oldEmail, changed: false, memberId: member.id };
    if ((await emailInUse(trx, newEmail)) || !(await setMemberEmail(trx, member.id, newEmail))) {
      throw new ConflictError(TAKEN_MEANWHILE, 'members_email_key');
    }
    // A verified new address has not bounced (C12): the undeliverable mark belonged to the old one.
    await clearUndeliverable(trx, member.id);
    await recordWebhookEvent(trx, 'member.updated', { member_id: member.id, fields: ['email'] });
    // The address is the credential of every link and the key to every session: whatever was sent
    // to the old mailbox, or signed in before, stops working (only the browser that confirmed stays).
    await revokeMemberTokens(trx, member.id);
    await voidEarlierManageLinks(trx, member.id);
    await endOtherSessions(trx, { kind: 'member', id: member.id }, keepSid);
    await queueMail(
      trx,
      svc,
      emailChangedEmail(svc.mail, {
        to: newEmail,
        memberId: member.id,
        name: member.name,
        oldEmail,
        manageUrl: svc.links.manage(member.id),
      }),
    );
    await queueMail(trx, svc, emailChangedNoticeEmail(svc.mail, { to: oldEmail, memberId: member.id, name: member.name, newEmail }));
    return { email: newEmail, changed: true, memberId: member.id };
  });
}
