import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { answerInvitation, InvitationAnswer, invitationPage } from './invitations.service.js';

/** The page the re-permission mail links to (C15): choose, confirm, and only then be a member. */
export function invitationsRouter(svc: ServiceContext): Router {
  const router = Router();
  const schema = InvitationAnswer(svc.config.minAge);

  router.get('/join/invited/:token', async (req, res) => {
    const page = await invitationPage(svc, req.params.token);
    res.render('members/invited', { title: 'Confirm what you want', ...page, action: req.path, minAge: svc.config.minAge, input: {} });
  });

  router.post('/join/invited/:token', async (req, res) => {
    const { token } = req.params;
    const action = req.path;
    formView(res, 'members/invited', async () => ({
      title: 'Confirm what you want',
      ...(await invitationPage(svc, token)),
      action,
      minAge: svc.config.minAge,
    }));
    const input = parseForm(schema, req.body);
    const { memberId, alreadyMember } = await answerInvitation(svc, token, input);
    res.render('members/join-done', {
      title: alreadyMember ? 'You are already a member' : 'Welcome',
      alreadyMember,
      manageUrl: svc.links.manage(memberId).replace(svc.config.baseUrl, ''),
    });
  });

  return router;
}
