import { Router, type Request } from 'express';
import { generateSecret } from 'otplib';
import { z } from 'zod';
import { emailField, singleLineText } from '../shared/http/text.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../context.js';
import { endSession, renewSession, saveSession, startSession } from '../auth/sessions.js';
import { guardFor, PENDING_TOTP_MS } from './guards.js';
import { recordStaffLogin, signInStaffSecondStep, signInStaffWithPassword } from '../auth/staff-sign-in.service.js';
import { changeStaffPassword, enableStaffTotp } from '../auth/staff.service.js';
import { staffPassword } from '../auth/staff.schemas.js';
import { decryptTotpSecret, encryptTotpSecret, newTotpEnrolment } from '../auth/totp.js';
import type { StaffRow } from '../auth/staff.repository.js';

const StaffSignIn = z.object({
  email: emailField,
  password: z.string().min(1, 'Enter your password.').max(200),
  // Asked for with the password only while the address is protected after many failures.
  code: singleLineText()
    .max(40)
    .optional()
    .transform((v) => v || undefined),
});
// The codes refuse control characters as every other field does, before they are compared or counted as a failure.
const RecoveryCode = z.object({
  recovery_code: singleLineText().min(1, 'Enter one of your recovery codes.').max(40, 'A recovery code looks like ABCD-EFGH-JKMN-PQRS.'),
});
const TotpCode = z.object({
  code: singleLineText().regex(/^\d{6}$/, 'Enter the 6-digit code from your authenticator app.'),
});
const ChangePassword = z
  .object({ current: z.string().min(1, 'Enter your current password.').max(200), password: staffPassword, confirm: z.string() })
  .refine((v) => v.password === v.confirm, { message: 'The two new passwords are not the same.', path: ['confirm'] });

const loginMessages = (idleMinutes: number): Record<string, string> => ({
  expired: `You were signed out after ${idleMinutes} minutes without activity. Please sign in again.`,
  'signed-out': 'You are signed out.',
});

/** The TOTP secret shown for enrolment and not yet confirmed by a code, decrypted. */
function pendingTotpSecret(req: Request, svc: ServiceContext): string | undefined {
  const stored = req.session.staffTotpSecret;
  return stored ? decryptTotpSecret(stored, svc.config.secretKeys, req.user!.id) : undefined;
}

/** req.login regenerates the session (no fixation); the idle clock starts at sign-in. */
async function logInStaff(req: Request, svc: ServiceContext, staff: StaffRow): Promise<void> {
  await startSession(req, { kind: 'staff', id: staff.id, role: staff.role });
  await recordStaffLogin(svc, staff.id, ipPrefix(req.ip));
}

function pendingStaffId(req: Request): string | undefined {
  const pending = req.session.staffPending;
  return pending && Date.now() - pending.at <= PENDING_TOTP_MS ? pending.id : undefined;
}

/** Public pages: the staff sign-in and its second step. */
export function staffSignInRoutes(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/login', (req, res) => {
    if (req.user?.kind === 'staff') return res.redirect(303, '/admin');
    const messages = loginMessages(svc.config.staffIdleMinutes);
    const notice = messages[Object.keys(req.query).find((k) => k in messages) ?? ''];
    res.render('admin/login', { title: 'Staff sign-in', notice });
  });

  router.post('/admin/login', async (req, res) => {
    formView(res, 'admin/login', () => ({ title: 'Staff sign-in' }));
    const { email, password, code } = parseForm(StaffSignIn, req.body);
    const { staff, complete } = await signInStaffWithPassword(svc, { email, password, code, network: ipPrefix(req.ip) });
    if (!complete && staff.totp_enabled_at) {
      // Half a sign-in: only the second step can turn this marker into a session user.
      req.session.staffPending = { id: staff.id, at: Date.now() };
      await saveSession(req);
      return res.redirect(303, '/admin/login/totp');
    }
    // Without two-factor set up yet, the session can only reach the enrolment page (requireStaff).
    await logInStaff(req, svc, staff);
    res.redirect(303, '/admin');
  });

  router.get('/admin/login/totp', (req, res) => {
    if (!pendingStaffId(req)) return res.redirect(303, '/admin/login');
    res.render('admin/login-totp', { title: 'Two-factor code' });
  });

  for (const [path, recovery] of [
    ['/admin/login/totp', false],
    ['/admin/login/recovery', true],
  ] as const) {
    router.post(path, async (req, res) => {
      const staffId = pendingStaffId(req);
      if (!staffId) return res.redirect(303, '/admin/login');
      formView(res, 'admin/login-totp', () => ({ title: 'Two-factor code' }));
      const code = recovery ? parseForm(RecoveryCode, req.body).recovery_code : parseForm(TotpCode, req.body).code;
      const staff = await signInStaffSecondStep(svc, { staffId, code, recovery, network: ipPrefix(req.ip) });
      await logInStaff(req, svc, staff);
      res.redirect(303, recovery ? '/admin?recovered=1' : '/admin');
    });
  }

  return router;
}

/** The signed-in staff user's own account: password, two-factor, sign-out. */
export function staffAccountRoutes(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/password', guardFor('GET', '/admin/password'), (req, res) => {
    res.render('admin/password', { title: 'Change your password', done: 'done' in req.query });
  });

  router.post('/admin/password', guardFor('POST', '/admin/password'), async (req, res) => {
    formView(res, 'admin/password', () => ({ title: 'Change your password', done: false }));
    const { current, password } = parseForm(ChangePassword, req.body);
    await changeStaffPassword(svc, req.user!.id, { current, next: password, keepSid: req.sessionID });
    await renewSession(req);
    res.redirect(303, '/admin/password?done');
  });

  router.get('/admin/totp/setup', guardFor('GET', '/admin/totp/setup'), async (req, res) => {
    if (req.user!.twoFactor) return res.render('admin/totp-setup', { title: 'Two-factor sign-in', enabled: true });
    const secret = pendingTotpSecret(req, svc) ?? generateSecret();
    // Like the saved secret, the one awaiting its first code is kept encrypted (in the session row).
    req.session.staffTotpSecret = encryptTotpSecret(secret, svc.config.secretKeys, req.user!.id);
    const enrolment = await newTotpEnrolment(req.user!.email ?? req.user!.id, secret);
    res.render('admin/totp-setup', { title: 'Two-factor sign-in', enabled: false, ...enrolment });
  });

  router.post('/admin/totp/setup', guardFor('POST', '/admin/totp/setup'), async (req, res) => {
    const secret = pendingTotpSecret(req, svc);
    if (req.user!.twoFactor || !secret) return res.redirect(303, '/admin/totp/setup');
    formView(res, 'admin/totp-setup', async () => ({
      title: 'Two-factor sign-in',
      enabled: false,
      ...(await newTotpEnrolment(req.user!.email ?? '', secret)),
    }));
    const { code } = parseForm(TotpCode, req.body);
    const recoveryCodes = await enableStaffTotp(svc, req.user!.id, secret, code);
    delete req.session.staffTotpSecret;
    // Shown once, in this answer only: never stored in clear, never cached.
    res.set('Cache-Control', 'no-store');
    res.render('admin/recovery-codes', { title: 'Your recovery codes', recoveryCodes });
  });

  router.post('/admin/logout', guardFor('POST', '/admin/logout'), async (req, res) => {
    await endSession(req, res);
    res.redirect(303, '/admin/login?signed-out');
  });

  return router;
}
