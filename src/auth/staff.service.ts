import type { z } from 'zod';
import { hashPassword, verifyPassword } from './passwords.js';
import { deleteRecoveryCodes, replaceRecoveryCodes } from './recovery-codes.js';
import { endOtherSessions } from './sessions.js';
import { twoFactorResetEmail } from './sign-in.emails.js';
import { checkLimits } from '../shared/rate-limit.js';
import { inTransaction, type Db } from '../db.js';
import { ConflictError, NotFoundError, translateRefusal, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import { appendAudit } from '../audit/audit.repository.js';
import {
  disableStaffUser,
  findActiveStaffUser,
  insertStaffUser,
  listStaffUsers,
  staffUserExists,
  updateStaffUser,
  type StaffListRow,
  type StaffRole,
} from './staff.repository.js';
import type { NewStaffUser, StaffAccountForm } from './staff.schemas.js';
import { encryptTotpSecret, totpStep, WRONG_TOTP_CODE } from './totp.js';

const STAFF_SELF_PER_USER: Limit = { action: 'staff-self:user', windowSeconds: 900, max: 8 };

export async function createStaffUser(db: Db, input: z.infer<typeof NewStaffUser>): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return inTransaction(db, async (trx) => {
    try {
      return await insertStaffUser(trx, { email: input.email, name: input.name, role: input.role, passwordHash });
    } catch (err) {
      return translateRefusal(err, { staff_users_email_key: 'A staff user with that e-mail address exists.' });
    }
  });
}

/** Changes the signed-in staff user's own password; every other session of the account ends. */
export async function changeStaffPassword(
  svc: ServiceContext,
  staffId: string,
  change: { current: string; next: string; keepSid: string },
): Promise<void> {
  const { current, next } = change;
  await checkLimits(svc.db, [[STAFF_SELF_PER_USER, `password:${staffId}`]]);
  const staff = await findActiveStaffUser(svc.db, staffId);
  if (!staff) throw new NotFoundError();
  if (!(await verifyPassword(staff.password_hash, current))) throw new ValidationError({ current: 'Your current password is not right.' });
  const passwordHash = await hashPassword(next);
  await inTransaction(svc.db, async (trx) => {
    await updateStaffUser(trx, staffId, { password_hash: passwordHash });
    await endOtherSessions(trx, { kind: 'staff', id: staffId }, change.keepSid);
    await appendAudit(trx, { staffUserId: staffId, action: 'staff.password_changed' });
  });
}

/**
 * Saves the secret only once the staff user proved their app has it, so nobody is locked out, and
 * gives the account a fresh set of recovery codes: returned here to be shown once, kept only hashed.
 */
export async function enableStaffTotp(svc: ServiceContext, staffId: string, secret: string, code: string): Promise<string[]> {
  await checkLimits(svc.db, [[STAFF_SELF_PER_USER, `enrol:${staffId}`]]);
  const step = await totpStep(secret, code);
  if (step === undefined) throw new ValidationError({ code: WRONG_TOTP_CODE });
  return inTransaction(svc.db, async (trx) => {
    // The enrolment code counts as used: it cannot sign in a second time.
    await updateStaffUser(trx, staffId, {
      totp_secret: encryptTotpSecret(secret, svc.config.secretKeys, staffId),
      totp_enabled_at: new Date(),
      totp_last_step: step,
    });
    await appendAudit(trx, { staffUserId: staffId, action: 'staff.totp_enabled' });
    return replaceRecoveryCodes(trx, staffId, svc.config.secretKeys);
  });
}

/** An admin adds a staff account; every staff account, whatever its role, enrols two-factor at its first sign-in. */
export async function createStaffAccount(svc: ServiceContext, actorId: string, input: z.infer<typeof StaffAccountForm>): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return inTransaction(svc.db, async (trx) => {
    let id: string;
    try {
      id = await insertStaffUser(trx, { email: input.email, name: input.name, role: input.role, passwordHash });
    } catch (err) {
      return translateRefusal(
        err,
        { staff_users_email_key: ['email', 'A staff account with that e-mail address exists.'] },
        { email: input.email, name: input.name, role: input.role },
      );
    }
    await appendAudit(trx, { staffUserId: actorId, action: 'staff.created', details: { staffId: id, role: input.role } });
    return id;
  });
}

/**
 * Disables a staff account: it can no longer sign in, and its open sessions end at their next
 * request (passport re-reads the account per request and drops a disabled one). Not your own.
 */
/** The account a disable would end, for the confirmation step (issue 13.2); refuses as disabling would. */
export async function staffAccountToDisable(
  actorId: string,
  svc: ServiceContext,
  staffId: string,
): Promise<{ name: string; email: string; role: StaffRole }> {
  if (staffId === actorId) throw new ConflictError('You cannot disable your own account. Ask another admin.');
  const staff = await findActiveStaffUser(svc.db, staffId);
  if (!staff) throw new NotFoundError('We could not find an active staff account with that id.');
  return { name: staff.name, email: staff.email, role: staff.role };
}

export async function disableStaffAccount(svc: ServiceContext, actorId: string, staffId: string): Promise<void> {
  if (staffId === actorId) throw new ConflictError('You cannot disable your own account. Ask another admin.');
  await inTransaction(svc.db, async (trx) => {
    if (!(await disableStaffUser(trx, staffId))) {
      if (!(await staffUserExists(trx, staffId))) throw new NotFoundError();
      return; // Disabled already: nothing to do, nothing to record.
    }
    await appendAudit(trx, { staffUserId: actorId, action: 'staff.disabled', details: { staffId } });
  });
}

/**
 * An admin resets another staff user's two-factor sign-in, for a lost device: the secret, the last
 * step and the recovery codes go, every session of the account ends, and the account must set up
 * two-factor again at its next sign-in. Audited, and the account's owner is told by e-mail.
 */
export async function resetStaffTwoFactor(svc: ServiceContext, actorId: string | null, staffId: string): Promise<void> {
  if (staffId === actorId) throw new ConflictError('You cannot reset your own two-factor sign-in here. Ask another admin.');
  await inTransaction(svc.db, async (trx) => {
    const staff = await findActiveStaffUser(trx, staffId);
    if (!staff) throw new NotFoundError('We could not find that staff account.');
    await updateStaffUser(trx, staffId, { totp_secret: null, totp_enabled_at: null, totp_last_step: null });
    await deleteRecoveryCodes(trx, staffId);
    await endOtherSessions(trx, { kind: 'staff', id: staffId });
    await appendAudit(trx, { staffUserId: actorId, action: 'staff.totp_reset', details: { staffId, ...(actorId ? {} : { via: 'cli' }) } });
    await queueMail(trx, svc, twoFactorResetEmail(svc.mail, { to: staff.email, name: staff.name }));
  });
}

/** Every staff account, active first, as the staff screen lists them (no hashes, no secrets). */
export function staffAccounts(svc: ServiceContext): Promise<StaffListRow[]> {
  return listStaffUsers(svc.db);
}
