import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireMember, signedInRecently } from '../auth/passport.js';
import { renewSession } from '../auth/sessions.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { secretText } from '../shared/http/text.js';
import type { ServiceContext } from '../context.js';
import { accountOverview, hasPassword, removeMemberPassword, setMemberPassword } from './account.service.js';
import { currentRemoval } from '../removal/removal.service.js';
import { formatRemovalDate } from '../removal/removal.emails.js';

const currentPassword = z
  .string()
  .max(200)
  .optional()
  .transform((v) => (v ? v : undefined));

const SetPassword = z
  .object({
    current: currentPassword,
    password: secretText().min(10, 'Use at least 10 characters.').max(200, 'Use at most 200 characters.'),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, { message: 'The two passwords are not the same.', path: ['confirm'] });
const RemovePassword = z.object({ current: currentPassword });

/** Notices named in the redirect after a POST; the query only picks one. */
const NOTICES = new Map([
  ['password-set', 'Your password is set. Every other browser signed in to your account was signed out.'],
  ['password-removed', 'Your password is removed: you sign in with a link by e-mail. Every other browser was signed out.'],
]);

export function accountRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/account', requireMember);

  router.get('/account', async (req, res) => {
    const [member, removal] = await Promise.all([accountOverview(svc, req.user!.id), currentRemoval(svc, req.user!.id)]);
    res.render('account/index', {
      title: 'Your account',
      member,
      removal,
      formatDate: (d: Date) => formatRemovalDate(d, svc.config.orgTimeZone),
      notice: NOTICES.get(String(req.query.notice)),
    });
  });

  const passwordPage = async (memberId: string) => ({ title: 'Your password', hasPassword: await hasPassword(svc, memberId) });
  const proofOf = (req: Request, current: string | undefined) => ({
    memberId: req.user!.id,
    current,
    recentSignIn: signedInRecently(req.user),
    keepSid: req.sessionID,
  });

  router.get('/account/password', async (req, res) => res.render('account/password', await passwordPage(req.user!.id)));

  router.post('/account/password', async (req, res) => {
    formView(res, 'account/password', () => passwordPage(req.user!.id));
    const { current, password } = parseForm(SetPassword, req.body);
    await setMemberPassword(svc, proofOf(req, current), password);
    await renewSession(req);
    res.redirect(303, '/account?notice=password-set');
  });

  router.get('/account/password/remove', async (req, res) => {
    if (!(await hasPassword(svc, req.user!.id))) return res.redirect(303, '/account/password');
    res.render('account/password-remove', { title: 'Remove your password' });
  });

  router.post('/account/password/remove', async (req, res) => {
    formView(res, 'account/password-remove', () => ({ title: 'Remove your password' }));
    const { current } = parseForm(RemovePassword, req.body);
    await removeMemberPassword(svc, proofOf(req, current));
    await renewSession(req);
    res.redirect(303, '/account?notice=password-removed');
  });

  return router;
}
