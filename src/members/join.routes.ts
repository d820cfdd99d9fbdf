import { Router, type Response } from 'express';
import { formView, parseForm } from '../shared/http/forms.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../context.js';
import { JoinRequest } from './join.schemas.js';
import { confirmJoin, findSignupForLink, joinFormData, requestJoin, sendPreferencesLinkForUsedLink } from './join.service.js';

export function joinRouter(svc: ServiceContext): Router {
  const router = Router();
  const schema = JoinRequest(svc.config.minAge);

  const formLocals = async () => {
    const { groups, policy } = await joinFormData(svc);
    return { title: 'Join', groups, policy, minAge: svc.config.minAge, expiryHours: svc.config.signupExpiryHours };
  };

  router.get('/join', async (_req, res) => {
    const { groups, policy } = await joinFormData(svc);
    res.render('members/join', {
      title: 'Join',
      groups,
      policy,
      minAge: svc.config.minAge,
      expiryHours: svc.config.signupExpiryHours,
      input: {},
    });
  });

  router.post('/join', async (req, res) => {
    formView(res, 'members/join', () => formLocals());
    const input = parseForm(schema, req.body);
    await requestJoin(svc, input, ipPrefix(req.ip));
    res.render('members/join-sent', { title: 'Check your e-mail', expiryHours: svc.config.signupExpiryHours, sentTo: input.email });
  });

  /** A used link of a confirmed membership (issue 13.10): says so, and offers the preference link by e-mail. */
  const alreadyConfirmed = (res: Response, token: string) =>
    res.render('members/join-used', { title: 'Your membership is already confirmed', action: `/join/confirm/${token}/preferences-link` });

  router.get('/join/confirm/:token', async (req, res) => {
    const link = await findSignupForLink(svc, req.params.token);
    if (link.alreadyConfirmed) return alreadyConfirmed(res, req.params.token);
    res.render('members/join-confirm', { title: 'Confirm your membership', name: link.pending.name, action: req.path });
  });

  router.post('/join/confirm/:token/preferences-link', async (req, res) => {
    const sentTo = await sendPreferencesLinkForUsedLink(svc, req.params.token, ipPrefix(req.ip));
    res.render('members/preferences-link-sent', { title: 'Check your e-mail', sentTo });
  });

  router.post('/join/confirm/:token', async (req, res) => {
    const outcome = await confirmJoin(svc, req.params.token);
    if ('alreadyConfirmed' in outcome) return alreadyConfirmed(res, req.params.token);
    const { memberId, alreadyMember } = outcome;
    res.render('members/join-done', {
      title: alreadyMember ? 'You are already a member' : 'Welcome',
      alreadyMember,
      manageUrl: svc.links.manage(memberId).replace(svc.config.baseUrl, ''),
    });
  });

  return router;
}
