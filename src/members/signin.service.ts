import type { Knex } from 'knex';
import { inTransaction } from '../db.js';
import { consumeMemberToken, issueMemberToken, peekMemberToken } from '../identity/member-tokens.js';
import { findActiveMember, findActiveMemberByEmail } from '../identity/members.repository.js';
import { assertManageLinkCurrent } from '../identity/manage-links.js';
import { InvalidLinkError, NotFoundError, ValidationError } from '../shared/errors.js';
import { checkLimits, recentFailures, TooManyRequestsError, type Limit } from '../shared/rate-limit.js';
import { lockState, LOCKOUT_RULES, recordSignInFailure, recordSignInSuccess } from '../auth/lockout.js';
import { verifyPassword } from '../auth/passwords.js';
import { failedSignInsEmail } from '../auth/sign-in.emails.js';
import { signInLinkEmail } from './signin.emails.js';
import { queueMail, type ServiceContext } from '../context.js';

export const SIGNIN_LINK_MINUTES = 15;
const PER_ADDRESS: Limit = { action: 'signin-link:address', windowSeconds: 900, max: 5 };
const PER_NETWORK: Limit = { action: 'signin-link:network', windowSeconds: 900, max: 30 };

/**
 * Sends a single-use sign-in link to a member's address. The answer is the same whether the
 * address is known or not (no enumeration); unknown addresses get no mail.
 */
export async function requestSignInLink(svc: ServiceContext, input: { email: string; network: string }): Promise<void> {
  await checkLimits(svc.db, [
    [PER_ADDRESS, input.email],
    [PER_NETWORK, input.network],
  ]);
  await inTransaction(svc.db, async (trx) => {
    const member = await findActiveMemberByEmail(trx, input.email);
    if (member?.email) await queueSignInLink(trx, svc, { ...member, email: member.email });
  });
}

async function queueSignInLink(trx: Knex.Transaction, svc: ServiceContext, member: { id: string; email: string; name: string | null }) {
  const token = await issueMemberToken(trx, member.id, 'signin', SIGNIN_LINK_MINUTES);
  await queueMail(
    trx,
    svc,
    signInLinkEmail(svc.mail, {
      to: member.email,
      memberId: member.id,
      name: member.name,
      url: svc.links.action('/signin', token),
      minutes: SIGNIN_LINK_MINUTES,
      manageUrl: svc.links.manage(member.id),
    }),
  );
}

/**
 * From the cookieless preference page (issue 13.3): "e-mail me a link to change my details, see
 * my data or ask for removal". The manage link names the member, so the sign-in link goes to the
 * address on file, never to one typed in; a link voided by an e-mail change cannot ask. Limited
 * as asking by address is. Answers the address the link went to, for the "check your e-mail" page.
 */
export async function requestSignInLinkFromManageLink(
  svc: ServiceContext,
  input: { memberId: string; issuedAt: number; network: string },
): Promise<string> {
  const member = await findActiveMember(svc.db, input.memberId);
  if (!member?.email) throw new NotFoundError('We could not find that membership. It may have been removed.');
  assertManageLinkCurrent(member, input.issuedAt);
  await checkLimits(svc.db, [
    [PER_ADDRESS, member.email],
    [PER_NETWORK, input.network],
  ]);
  await inTransaction(svc.db, (trx) => queueSignInLink(trx, svc, { ...member, email: member.email! }));
  return member.email;
}

export const PASSWORD_MISMATCH = 'That e-mail address and password do not match. You can ask for a sign-in link instead.';
export const PASSWORD_PAUSED =
  'Password sign-in for this address is paused for a while after many failed attempts. Ask for a sign-in link above: it always works.';

/**
 * Member password sign-in (C11), behind the lock-out of auth/lockout.ts: only failures count; an
 * address over its ceiling of failures from everywhere cannot sign in with a password for a while
 * (the password is then not even checked, so guessing learns nothing), but its e-mailed link
 * always works. Unknown address and wrong password answer the same, in the same time.
 */
export async function signInMemberWithPassword(
  svc: ServiceContext,
  input: { email: string; password: string; network: string },
): Promise<string> {
  const { email, network } = input;
  const state = await lockState(svc.db, 'member', email, network);
  if (state.locked) throw new TooManyRequestsError();
  if (state.addressCeiling) throw new ValidationError({ password: PASSWORD_PAUSED }, { email });
  const member = await findActiveMemberByEmail(svc.db, email);
  if (member && (await verifyPassword(member.password_hash, input.password))) {
    await recordSignInSuccess(svc.db, 'member', email, network);
    return member.id;
  }
  if (!member) await verifyPassword(null, input.password);
  await inTransaction(svc.db, async (trx) => {
    const alert = await recordSignInFailure(trx, 'member', email, network);
    if (alert && member?.email && member.password_hash) {
      const count = await recentFailures(trx, LOCKOUT_RULES.member.address, email);
      await queueMail(
        trx,
        svc,
        failedSignInsEmail(svc.mail, { to: member.email, memberId: member.id, name: member.name, staff: false, count }),
      );
    }
  });
  throw new ValidationError({ password: PASSWORD_MISMATCH }, { email });
}

const SIGNIN_LINK_INVALID = 'This sign-in link has expired or was already used. Ask for a new one on the Manage preferences page.';

/** Whether a sign-in link still works, without using it: the GET page shows a button (mail scanners follow links). */
export async function checkSignInLink(svc: ServiceContext, token: unknown): Promise<void> {
  if (!(await peekMemberToken(svc.db, token, 'signin'))) throw new InvalidLinkError(SIGNIN_LINK_INVALID);
}

/** Uses a sign-in link once; the member it signs in. */
export async function useSignInLink(svc: ServiceContext, token: unknown): Promise<string> {
  const live = await consumeMemberToken(svc.db, token, 'signin');
  if (!live) throw new InvalidLinkError(SIGNIN_LINK_INVALID);
  return live.memberId;
}
