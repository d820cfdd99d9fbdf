import { Router, type Request } from 'express';
import type { Passport } from 'passport';
import { z } from 'zod';
import { consumeMemberToken, peekMemberToken } from '../members/member-tokens.js';
import { InvalidLinkError, ValidationError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { singleLineText } from '../shared/http/text.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../shared/service-context.js';
import { checkLimits, PASSWORD_PER_ADDRESS, PASSWORD_PER_NETWORK, requestSignInLink, SIGNIN_LINK_MINUTES } from './signin.service.js';

export const emailField = singleLineText({ required: 'Enter your e-mail address.' })
  .min(1, 'Enter your e-mail address.')
  .max(254, 'An e-mail address has at most 254 characters.')
  .email('Enter an e-mail address like name@example.org.');

const RequestSignInLink = z.object({ email: emailField });
const PasswordSignIn = z.object({ email: emailField, password: z.string().min(1, 'Enter your password.').max(200) });

function logIn(req: Request, user: Express.User): Promise<void> {
  return new Promise((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
}

export function authRouter(svc: ServiceContext, passport: InstanceType<typeof Passport>): Router {
  const router = Router();

  router.get('/manage', (req, res) => {
    if (req.user?.kind === 'member') return res.redirect(303, '/account');
    res.render('auth/manage', { title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES });
  });

  router.post('/manage', async (req, res) => {
    formView(res, 'auth/manage', { title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES });
    const { email } = parseForm(RequestSignInLink, req.body);
    await requestSignInLink(svc, { email, network: ipPrefix(req.ip) });
    res.render('auth/link-sent', { title: 'Check your e-mail', minutes: SIGNIN_LINK_MINUTES });
  });

  router.get('/signin/:token', async (req, res) => {
    if (!(await peekMemberToken(svc.db, req.params.token, 'signin')))
      throw new InvalidLinkError('This sign-in link has expired or was already used. Ask for a new one on the Manage preferences page.');
    res.render('auth/signin-confirm', { title: 'Sign in', action: `/signin/${req.params.token}` });
  });

  router.post('/signin/:token', async (req, res) => {
    const live = await consumeMemberToken(svc.db, req.params.token, 'signin');
    if (!live)
      throw new InvalidLinkError('This sign-in link has expired or was already used. Ask for a new one on the Manage preferences page.');
    await logIn(req, { kind: 'member', id: live.memberId });
    res.redirect(303, '/account');
  });

  router.post('/manage/password', async (req, res, next) => {
    const locals = { title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES };
    formView(res, 'auth/manage', locals);
    const { email } = parseForm(PasswordSignIn, req.body);
    await checkLimits(svc, [
      [PASSWORD_PER_ADDRESS, email],
      [PASSWORD_PER_NETWORK, ipPrefix(req.ip)],
    ]);
    passport.authenticate('member-password', { session: false }, async (err: unknown, user: Express.User | false) => {
      try {
        if (err) throw err;
        if (!user)
          throw new ValidationError(
            { password: 'That e-mail address and password do not match. You can ask for a sign-in link instead.' },
            { email },
          );
        await logIn(req, user);
        res.redirect(303, '/account');
      } catch (e) {
        next(e);
      }
    })(req, res, next);
  });

  router.post('/signout', async (req, res) => {
    await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    res.clearCookie('assent.sid');
    res.redirect(303, '/');
  });

  return router;
}
