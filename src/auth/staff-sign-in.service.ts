import { lockState, LOCKOUT_RULES, recordSignInFailure, recordSignInSuccess } from './lockout.js';
import { verifyPassword } from './passwords.js';
import { normaliseRecoveryCode, unusedRecoveryCodes, useRecoveryCode } from './recovery-codes.js';
import { failedSignInsEmail, recoveryCodeUsedEmail } from './sign-in.emails.js';
import { TooManyRequestsError } from '../shared/rate-limit.js';
import { inTransaction } from '../db.js';
import { ValidationError } from '../shared/errors.js';
import { countFailure, recentFailures, type FailureRule } from '../shared/rate-limit.js';
import { queueMail, type ServiceContext } from '../context.js';
import { appendAudit } from '../audit/audit.repository.js';
import { claimTotpStep, findActiveStaffUser, findActiveStaffUserByEmail, type StaffRow } from './staff.repository.js';
import { decryptTotpSecret, totpStep, WRONG_TOTP_CODE } from './totp.js';

/**
 * Staff sign-in (C11): a password, then a second factor (a TOTP code, or one of the account's
 * recovery codes). Failures, and only failures, feed the lock-out in auth/lockout.ts; every
 * failure is audited. Unknown address and wrong password give the same message and take the same
 * time (dummy hash).
 */
export const SIGN_IN_MISMATCH = 'That e-mail address and password do not match.';
export const REPLAYED_CODE = 'That code was used already. Wait for the next code in your app and enter that one.';
export const WRONG_RECOVERY_CODE = 'That recovery code is not right, or was used already. Each code works once.';
export const PROTECTED_MODE =
  'This address has had many failed sign-ins recently. To protect the account, enter your password and your current two-factor code (or a recovery code) together.';

/** Wrong second factors per account: a known password must not lead to guessing six digits. */
const SECOND_FACTOR_PER_USER: FailureRule = { action: 'staff-fail:second-factor', windowSeconds: 900, max: 8 };

type SecondFactor = { ok: true; recovery: boolean } | { ok: false; message: string };

/** A failed attempt: audited, counted, and told to the owner when it makes a burst. */
async function failed(
  svc: ServiceContext,
  attempt: { email: string; network: string; staff: StaffRow | undefined },
  details: Record<string, unknown>,
): Promise<void> {
  await inTransaction(svc.db, async (trx) => {
    await appendAudit(trx, {
      staffUserId: attempt.staff?.id ?? null,
      action: 'staff.login_failed',
      details: { network: attempt.network, ...details },
    });
    const alert = await recordSignInFailure(trx, 'staff', attempt.email, attempt.network);
    if (alert && attempt.staff) {
      const count = await recentFailures(trx, LOCKOUT_RULES.staff.address, attempt.email);
      await queueMail(
        trx,
        svc,
        failedSignInsEmail(svc.mail, { to: attempt.staff.email, memberId: null, name: attempt.staff.name, staff: true, count }),
      );
    }
  });
}

/** Checks a TOTP code (good once: its time step must be later than the last accepted one) or a recovery code (good once). */
async function checkSecondFactor(svc: ServiceContext, staff: StaffRow, code: string): Promise<SecondFactor> {
  if (/^\d{6}$/.test(code.trim())) {
    const secret = staff.totp_secret ? decryptTotpSecret(staff.totp_secret, svc.config.secretKeys, staff.id) : undefined;
    const step = secret ? await totpStep(secret, code.trim()) : undefined;
    if (step === undefined) return { ok: false, message: WRONG_TOTP_CODE };
    if (!(await claimTotpStep(svc.db, staff.id, step))) return { ok: false, message: REPLAYED_CODE };
    return { ok: true, recovery: false };
  }
  if (!normaliseRecoveryCode(code) || !staff.totp_enabled_at) return { ok: false, message: WRONG_RECOVERY_CODE };
  if (!(await useRecoveryCode(svc.db, staff.id, code, svc.config.secretKeys))) return { ok: false, message: WRONG_RECOVERY_CODE };
  const left = await unusedRecoveryCodes(svc.db, staff.id);
  await inTransaction(svc.db, async (trx) => {
    await appendAudit(trx, { staffUserId: staff.id, action: 'staff.recovery_code_used', details: { left } });
    await queueMail(trx, svc, recoveryCodeUsedEmail(svc.mail, { to: staff.email, name: staff.name, left }));
  });
  return { ok: true, recovery: true };
}

/** The second factor with its own per-account limit; a wrong one counts against the address too. */
async function secondFactor(svc: ServiceContext, staff: StaffRow, code: string, network: string): Promise<SecondFactor> {
  if ((await recentFailures(svc.db, SECOND_FACTOR_PER_USER, staff.id)) >= SECOND_FACTOR_PER_USER.max) throw new TooManyRequestsError();
  const result = await checkSecondFactor(svc, staff, code);
  if (!result.ok) {
    await countFailure(svc.db, SECOND_FACTOR_PER_USER, staff.id);
    const factor = /^\d{6}$/.test(code.trim()) ? 'totp' : 'recovery_code';
    await failed(
      svc,
      { email: staff.email, network, staff },
      { factor, ...(result.message === REPLAYED_CODE ? { reason: 'code_reused' } : {}) },
    );
  }
  return result;
}

/**
 * The password step. Normally a right password leads to the second-factor step (complete: false).
 * While the address is over its ceiling of failures from everywhere, the password alone never
 * answers "right": the form asks for password and second factor together, and only both sign in
 * (complete: true), so the owner gets in while a guesser learns nothing.
 */
export async function signInStaffWithPassword(
  svc: ServiceContext,
  input: { email: string; password: string; network: string; code?: string | undefined },
): Promise<{ staff: StaffRow; complete: boolean }> {
  const { email, network } = input;
  const state = await lockState(svc.db, 'staff', email, network);
  if (state.locked) throw new TooManyRequestsError();
  const found = await findActiveStaffUserByEmail(svc.db, email);
  const staff = (await verifyPassword(found?.password_hash ?? null, input.password)) ? found : undefined;
  if (state.addressCeiling) {
    const second = staff && input.code ? await secondFactor(svc, staff, input.code, network) : undefined;
    if (!staff || !second?.ok) {
      if (!second) await failed(svc, { email, network, staff: found }, { mode: 'protected' });
      throw new ValidationError({ code: PROTECTED_MODE }, { email });
    }
    await recordSignInSuccess(svc.db, 'staff', email, network);
    return { staff, complete: true };
  }
  if (!staff) {
    await failed(svc, { email, network, staff: found }, {});
    throw new ValidationError({ form: SIGN_IN_MISMATCH }, { email });
  }
  await recordSignInSuccess(svc.db, 'staff', email, network);
  return { staff, complete: false };
}

/** The second step after a right password: a TOTP code or a recovery code. */
export async function signInStaffSecondStep(
  svc: ServiceContext,
  input: { staffId: string; code: string; network: string; recovery: boolean },
): Promise<StaffRow> {
  const staff = await findActiveStaffUser(svc.db, input.staffId);
  if (!staff) throw new ValidationError({ code: WRONG_TOTP_CODE });
  const code = input.recovery ? (normaliseRecoveryCode(input.code) ?? 'not a code') : input.code;
  const result = await secondFactor(svc, staff, code, input.network);
  if (!result.ok) throw new ValidationError({ [input.recovery ? 'recovery_code' : 'code']: result.message });
  return staff;
}

export async function recordStaffLogin(svc: ServiceContext, staffId: string, network: string): Promise<void> {
  await appendAudit(svc.db, { staffUserId: staffId, action: 'staff.login', details: { network } });
}
