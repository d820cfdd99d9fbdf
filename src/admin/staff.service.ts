import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { checkLimits } from '../auth/signin.service.js';
import { inTransaction, type Db } from '../db.js';
import { ConflictError, isDatabaseRuleViolation, NotFoundError, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import type { ServiceContext } from '../shared/service-context.js';
import {
  appendAudit,
  findActiveStaffUser,
  findActiveStaffUserByEmail,
  insertStaffUser,
  STAFF_ROLES,
  updateStaffUser,
  type StaffRow,
} from './staff.repository.js';

export const STAFF_PASSWORD_MIN = 12;
export const staffPassword = z
  .string({ message: 'Enter a password.' })
  .min(STAFF_PASSWORD_MIN, `Use at least ${STAFF_PASSWORD_MIN} characters.`)
  .max(200, 'Use at most 200 characters.');

export const NewStaffUser = z.object({
  email: z.string({ message: 'Give --email.' }).trim().max(254).email('The e-mail address is not valid.'),
  name: z.string({ message: 'Give --name.' }).trim().min(1, 'Give --name.').max(200, 'The name has at most 200 characters.'),
  role: z.enum(STAFF_ROLES, { message: `The role must be one of: ${STAFF_ROLES.join(', ')}.` }),
  password: staffPassword,
});

// Staff accounts are worth more than a member's: tighter limits than member sign-in.
export const STAFF_PER_ADDRESS: Limit = { action: 'staff-password:address', windowSeconds: 900, max: 8 };
export const STAFF_PER_NETWORK: Limit = { action: 'staff-password:network', windowSeconds: 900, max: 40 };
const STAFF_TOTP_PER_USER: Limit = { action: 'staff-totp:user', windowSeconds: 900, max: 8 };

export const SIGN_IN_MISMATCH = 'That e-mail address and password do not match.';
export const TOTP_ISSUER = 'Assent';

export async function createStaffUser(db: Db, input: z.infer<typeof NewStaffUser>): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return inTransaction(db, async (trx) => {
    try {
      return await insertStaffUser(trx, { email: input.email, name: input.name, role: input.role, passwordHash });
    } catch (err) {
      if (isDatabaseRuleViolation(err) && err.code === '23505') throw new ConflictError('A staff user with that e-mail address exists.');
      throw err;
    }
  });
}

/**
 * Checks a staff password. Unknown address and wrong password give the same message and take the
 * same time (dummy hash); both are audited, the unknown one without a staff id.
 */
export async function checkStaffPassword(
  svc: ServiceContext,
  input: { email: string; password: string; network: string },
): Promise<StaffRow> {
  await checkLimits(svc, [
    [STAFF_PER_ADDRESS, input.email],
    [STAFF_PER_NETWORK, input.network],
  ]);
  const staff = await findActiveStaffUserByEmail(svc.db, input.email);
  const ok = await verifyPassword(staff?.password_hash ?? null, input.password);
  if (!ok || !staff) {
    await appendAudit(svc.db, { staffUserId: staff?.id ?? null, action: 'staff.login_failed', details: { network: input.network } });
    throw new ValidationError({ password: SIGN_IN_MISMATCH }, { email: input.email });
  }
  return staff;
}

/** The second factor of a sign-in whose password was right; a wrong code is audited too. */
export async function checkStaffTotp(svc: ServiceContext, staffId: string, code: string): Promise<StaffRow> {
  await checkLimits(svc, [[STAFF_TOTP_PER_USER, staffId]]);
  const staff = await findActiveStaffUser(svc.db, staffId);
  if (!staff?.totp_secret || !(await totpMatches(staff.totp_secret, code))) {
    await appendAudit(svc.db, { staffUserId: staff?.id ?? null, action: 'staff.login_failed', details: { factor: 'totp' } });
    throw new ValidationError({ code: 'That code is not right. Enter the current 6-digit code from your app.' });
  }
  return staff;
}

export async function recordStaffLogin(svc: ServiceContext, staffId: string, network: string): Promise<void> {
  await appendAudit(svc.db, { staffUserId: staffId, action: 'staff.login', details: { network } });
}

export async function changeStaffPassword(svc: ServiceContext, staffId: string, current: string, next: string): Promise<void> {
  await checkLimits(svc, [[STAFF_TOTP_PER_USER, `password:${staffId}`]]);
  const staff = await findActiveStaffUser(svc.db, staffId);
  if (!staff) throw new NotFoundError();
  if (!(await verifyPassword(staff.password_hash, current))) throw new ValidationError({ current: 'Your current password is not right.' });
  const passwordHash = await hashPassword(next);
  await inTransaction(svc.db, async (trx) => {
    await updateStaffUser(trx, staffId, { password_hash: passwordHash });
    await appendAudit(trx, { staffUserId: staffId, action: 'staff.password_changed' });
  });
}

/** A new secret for enrolment, with what the page shows: the QR code as an SVG data: URL and the secret. */
export async function newTotpEnrolment(email: string, secret = generateSecret()): Promise<{ secret: string; qr: string }> {
  const uri = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  const svg = await QRCode.toString(uri, { type: 'svg', margin: 1 });
  return { secret, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** Saves the secret only once the staff user proved their app has it, so nobody is locked out. */
export async function enableStaffTotp(svc: ServiceContext, staffId: string, secret: string, code: string): Promise<void> {
  await checkLimits(svc, [[STAFF_TOTP_PER_USER, `enrol:${staffId}`]]);
  if (!(await totpMatches(secret, code)))
    throw new ValidationError({ code: 'That code is not right. Enter the current 6-digit code from your app.' });
  await inTransaction(svc.db, async (trx) => {
    await updateStaffUser(trx, staffId, { totp_secret: secret, totp_enabled_at: new Date() });
    await appendAudit(trx, { staffUserId: staffId, action: 'staff.totp_enabled' });
  });
}

async function totpMatches(secret: string, code: string): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  // One step either side allows for clock drift between the server and the phone.
  const result = await verify({ secret, token: code, epochTolerance: 30 }).catch(() => ({ valid: false }));
  return result.valid;
}
