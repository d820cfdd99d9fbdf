import { Router } from 'express';
import { formView, parseForm } from '../shared/http/forms.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../context.js';
import { JoinRequest } from './join.schemas.js';
import { confirmJoin, findSignupForLink, joinFormData, requestJoin } from './join.service.js';

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
    res.render('members/join-sent', { title: 'Check your e-mail', expiryHours: svc.config.signupExpiryHours });
  });

  router.get('/join/confirm/:token', async (req, res) => {
    const pending = await findSignupForLink(svc, req.params.token);
    res.render('members/join-confirm', { title: 'Confirm your membership', name: pending.name, action: req.path });
  });

  router.post('/join/confirm/:token', async (req, res) => {
    const { memberId, alreadyMember } = await confirmJoin(svc, req.params.token);
    res.render('members/join-done', {
      title: alreadyMember ? 'You are already a member' : 'Welcome',
      alreadyMember,
      manageUrl: svc.links.manage(memberId).replace(svc.config.baseUrl, ''),
    });
  });

  return router;
}
