import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import { z } from 'zod';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { deleteRecoveryCodes, replaceRecoveryCodes } from '../auth/recovery-codes.js';
import { endOtherSessions } from '../auth/sessions.js';
import { twoFactorResetEmail } from '../auth/sign-in.emails.js';
import { checkLimits } from '../auth/signin.service.js';
import { inTransaction, type Db } from '../db.js';
import { ConflictError, isDatabaseRuleViolation, NotFoundError, ValidationError } from '../shared/errors.js';
import type { Limit } from '../shared/rate-limit.js';
import { personName, secretText, singleLineText } from '../shared/http/text.js';
import { queueMail, type ServiceContext } from '../shared/service-context.js';
import {
  appendAudit,
  disableStaffUser,
  findActiveStaffUser,
  insertStaffUser,
  STAFF_ROLES,
  staffUserExists,
  updateStaffUser,
} from './staff.repository.js';

export const STAFF_PASSWORD_MIN = 12;
export const staffPassword = secretText({ required: 'Enter a password.' })
  .min(STAFF_PASSWORD_MIN, `Use at least ${STAFF_PASSWORD_MIN} characters.`)
  .max(200, 'Use at most 200 characters.');

export const NewStaffUser = z.object({
  email: singleLineText({ required: 'Give --email.' }).max(254).email('The e-mail address is not valid.'),
  name: personName({ required: 'Give --name.' }).min(1, 'Give --name.').max(200, 'The name has at most 200 characters.'),
  role: z.enum(STAFF_ROLES, { message: `The role must be one of: ${STAFF_ROLES.join(', ')}.` }),
  password: staffPassword,
});

const STAFF_SELF_PER_USER: Limit = { action: 'staff-self:user', windowSeconds: 900, max: 8 };

export const TOTP_ISSUER = 'Assent';
export const WRONG_TOTP_CODE = 'That code is not right. Enter the current 6-digit code from your app.';

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

/** Changes the signed-in staff user's own password; every other session of the account ends. */
export async function changeStaffPassword(
  svc: ServiceContext,
  staffId: string,
  change: { current: string; next: string; keepSid: string },
): Promise<void> {
  const { current, next } = change;
  await checkLimits(svc, [[STAFF_SELF_PER_USER, `password:${staffId}`]]);
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

/** A new secret for enrolment, with what the page shows: the QR code as an SVG data: URL and the secret. */
export async function newTotpEnrolment(email: string, secret = generateSecret()): Promise<{ secret: string; qr: string }> {
  const uri = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  const svg = await QRCode.toString(uri, { type: 'svg', margin: 1 });
  return { secret, qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/**
 * Saves the secret only once the staff user proved their app has it, so nobody is locked out, and
 * gives the account a fresh set of recovery codes: returned here to be shown once, kept only hashed.
 */
export async function enableStaffTotp(svc: ServiceContext, staffId: string, secret: string, code: string): Promise<string[]> {
  await checkLimits(svc, [[STAFF_SELF_PER_USER, `enrol:${staffId}`]]);
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

/** The RFC 6238 time step a code belongs to, or undefined when it is not a current code. */
export async function totpStep(secret: string, code: string): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  // One step either side allows for clock drift between the server and the phone.
  const result = await verify({ secret, token: code, epochTolerance: 30 }).catch(() => ({ valid: false as const }));
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

// TOTP secrets at rest (C11): AES-256-GCM under a key derived (HKDF-SHA256) from SECRET_KEYS, the
// first key encrypting and every key tried when decrypting, so keys can be rotated. The staff id is
// authenticated data: a ciphertext copied onto another account does not decrypt.
const TOTP_FORMAT = 'v1';
const TOTP_KEY_INFO = 'assent staff totp secret v1';

function totpKey(secretKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secretKey, 'assent-totp', TOTP_KEY_INFO, 32));
}

export function encryptTotpSecret(secret: string, keys: readonly string[], staffId: string): string {
  const [key] = keys;
  if (!key) throw new Error('no secret key to encrypt the TOTP secret with');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', totpKey(key), iv);
  cipher.setAAD(Buffer.from(staffId, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [TOTP_FORMAT, iv, body, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** The clear secret, or undefined when no key opens it (a rotated-away key, a tampered value). */
export function decryptTotpSecret(stored: string, keys: readonly string[], staffId: string): string | undefined {
  const [format, iv, body, tag] = stored.split('.');
  if (format !== TOTP_FORMAT || !iv || !body || !tag) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', totpKey(key), Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(staffId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // Not this key: try the next one.
    }
  }
  return undefined;
}

// Staff accounts managed by an admin (GET/POST /admin/staff).
export const StaffAccountForm = z.object({
  email: singleLineText().max(254, 'Use at most 254 characters.').email('Enter an e-mail address like name@example.org.'),
  name: personName().min(1, 'Enter the name.').max(200, 'Use at most 200 characters.'),
  role: z.enum(STAFF_ROLES, { message: 'Choose a role.' }),
  password: staffPassword,
});

/** An admin adds a staff account; admins among them enrol two-factor at their first sign-in. */
export async function createStaffAccount(svc: ServiceContext, actorId: string, input: z.infer<typeof StaffAccountForm>): Promise<string> {
  const passwordHash = await hashPassword(input.password);
  return inTransaction(svc.db, async (trx) => {
    let id: string;
    try {
      id = await insertStaffUser(trx, { email: input.email, name: input.name, role: input.role, passwordHash });
    } catch (err) {
      if (isDatabaseRuleViolation(err) && err.code === '23505')
        throw new ValidationError(
          { email: 'A staff account with that e-mail address exists.' },
          { email: input.email, name: input.name, role: input.role },
        );
      throw err;
    }
    await appendAudit(trx, { staffUserId: actorId, action: 'staff.created', details: { staffId: id, role: input.role } });
    return id;
  });
}

/**
 * Disables a staff account: it can no longer sign in, and its open sessions end at their next
 * request (passport re-reads the account per request and drops a disabled one). Not your own.
 */
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
