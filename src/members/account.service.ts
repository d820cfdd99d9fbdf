import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { endOtherSessions } from '../auth/sessions.js';
import { checkLimits } from '../shared/rate-limit.js';
import { inTransaction } from '../db.js';
import { NotFoundError, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import { passwordRemovedEmail, passwordSetEmail } from './account.emails.js';
import { findActiveMember, lockMember, updateMember, type MemberRow } from '../identity/members.repository.js';

/**
 * The member's optional password. Setting, changing or removing it needs proof that the person
 * at the keyboard is the member, not just a session left open: the current password, or a
 * sign-in within the last 15 minutes (as for an e-mail change). Each change ends every other
 * session of the member and is confirmed by e-mail in the same transaction (C14).
 */
const CURRENT_PER_MEMBER: Limit = { action: 'password-current:member', windowSeconds: 900, max: 5 };

export const PROOF_NEEDED =
  'Enter your current password. If you have none or forgot it, sign out and sign in again with a link by e-mail, then do this within 15 minutes.';

export interface PasswordProof {
  memberId: string;
  /** The current password as typed, if any. */
  current: string | undefined;
  /** The session signed in within the last 15 minutes. */
  recentSignIn: boolean;
  /** The session making the change: it stays signed in, every other one ends. */
  keepSid: string;
}

/** The signed-in member's account page: who they are signed in as. */
export async function accountOverview(svc: ServiceContext, memberId: string): Promise<MemberRow> {
  const member = await findActiveMember(svc.db, memberId);
  if (!member) throw new NotFoundError();
  return member;
}

export async function hasPassword(svc: ServiceContext, memberId: string): Promise<boolean> {
  const member = await findActiveMember(svc.db, memberId);
  if (!member) throw new NotFoundError();
  return member.password_hash !== null;
}

async function checkProof(svc: ServiceContext, storedHash: string | null, proof: PasswordProof): Promise<void> {
  if (proof.current) {
    // Guessing the current password from a stolen session is slowed down per member.
    await checkLimits(svc.db, [[CURRENT_PER_MEMBER, proof.memberId]]);
    if (await verifyPassword(storedHash, proof.current)) return;
    throw new ValidationError({ current: 'That is not your current password.' });
  }
  if (!proof.recentSignIn) throw new ValidationError({ current: PROOF_NEEDED });
}

export async function setMemberPassword(svc: ServiceContext, proof: PasswordProof, password: string): Promise<void> {
  const stored = await findActiveMember(svc.db, proof.memberId);
  if (!stored?.email) throw new NotFoundError();
  await checkProof(svc, stored.password_hash, proof);
  const passwordHash = await hashPassword(password);
  await inTransaction(svc.db, async (trx) => {
    const member = await lockMember(trx, proof.memberId, { activeOnly: true });
    if (!member?.email) throw new NotFoundError();
    await updateMember(trx, member.id, { password_hash: passwordHash });
    await endOtherSessions(trx, { kind: 'member', id: member.id }, proof.keepSid);
    await queueMail(
      trx,
      svc,
      passwordSetEmail(svc.mail, {
        to: member.email,
        memberId: member.id,
        name: member.name,
        changed: member.password_hash !== null,
        manageUrl: svc.links.manage(member.id),
      }),
    );
  });
}

export async function removeMemberPassword(svc: ServiceContext, proof: PasswordProof): Promise<{ removed: boolean }> {
  const stored = await findActiveMember(svc.db, proof.memberId);
  if (!stored?.email) throw new NotFoundError();
  if (stored.password_hash === null) return { removed: false };
  await checkProof(svc, stored.password_hash, proof);
  return inTransaction(svc.db, async (trx) => {
    const member = await lockMember(trx, proof.memberId, { activeOnly: true });
    if (!member?.email) throw new NotFoundError();
    if (member.password_hash === null) return { removed: false };
    await updateMember(trx, member.id, { password_hash: null });
    await endOtherSessions(trx, { kind: 'member', id: member.id }, proof.keepSid);
    await queueMail(
      trx,
      svc,
      passwordRemovedEmail(svc.mail, { to: member.email, memberId: member.id, name: member.name, manageUrl: svc.links.manage(member.id) }),
    );
    return { removed: true };
  });
}
