import { Router } from 'express';
import { z } from 'zod';
import { formView, parseForm } from '../shared/http/forms.js';
import { emailField } from '../shared/http/text.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../context.js';
import { endSession, startSession } from '../auth/sessions.js';
import {
  checkSignInLink,
  requestSignInLink,
  requestSignInLinkFromManageLink,
  signInMemberWithPassword,
  SIGNIN_LINK_MINUTES,
  useSignInLink,
} from './signin.service.js';
import { readManageLink } from '../identity/manage-links.js';

const EXPIRED_NOTICE = (minutes: number) => `You were signed out after ${minutes} minutes without activity. Please sign in again.`;

const RequestSignInLink = z.object({ email: emailField });
const PasswordSignIn = z.object({ email: emailField, password: z.string().min(1, 'Enter your password.').max(200) });

export function signInRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/manage', (req, res) => {
    if (req.user?.kind === 'member') return res.redirect(303, '/account');
    const notice = 'expired' in req.query ? EXPIRED_NOTICE(svc.config.memberIdleMinutes) : undefined;
    res.render('auth/manage', { title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES, notice });
  });

  router.post('/manage', async (req, res) => {
    formView(res, 'auth/manage', () => ({ title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES }));
    const { email } = parseForm(RequestSignInLink, req.body);
    await requestSignInLink(svc, { email, network: ipPrefix(req.ip) });
    res.render('auth/link-sent', { title: 'Check your e-mail', minutes: SIGNIN_LINK_MINUTES, typed: email });
  });

  // From the cookieless preference page: a sign-in link to the address on file (issue 13.3).
  router.post('/p/:token/signin-link', async (req, res) => {
    const link = readManageLink(svc.links, req.params.token);
    const sentTo = await requestSignInLinkFromManageLink(svc, { ...link, network: ipPrefix(req.ip) });
    res.render('auth/link-sent', { title: 'Check your e-mail', minutes: SIGNIN_LINK_MINUTES, sentTo });
  });

  router.get('/signin/:token', async (req, res) => {
    await checkSignInLink(svc, req.params.token);
    res.render('auth/signin-confirm', { title: 'Sign in', action: `/signin/${req.params.token}` });
  });

  router.post('/signin/:token', async (req, res) => {
    const memberId = await useSignInLink(svc, req.params.token);
    await startSession(req, { kind: 'member', id: memberId });
    res.redirect(303, '/account');
  });

  router.post('/manage/password', async (req, res) => {
    formView(res, 'auth/manage', () => ({ title: 'Manage your preferences', minutes: SIGNIN_LINK_MINUTES }));
    const { email, password } = parseForm(PasswordSignIn, req.body);
    const memberId = await signInMemberWithPassword(svc, { email, password, network: ipPrefix(req.ip) });
    await startSession(req, { kind: 'member', id: memberId });
    res.redirect(303, '/account');
  });

  router.post('/signout', async (req, res) => {
    await endSession(req, res);
    res.redirect(303, '/signed-out');
  });

  // Says the sign-out happened (issue 13.10); someone still signed in is sent to their account instead.
  router.get('/signed-out', (req, res) => {
    if (req.user?.kind === 'member') return res.redirect(303, '/account');
    res.render('auth/signed-out', { title: 'You are signed out' });
  });

  return router;
}
