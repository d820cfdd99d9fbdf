import { Router } from 'express';
import { listOfferedTopics } from '../consent/consent.repository.js';
import { KIND_LABELS } from '../consent/consent.service.js';
import { KIND_ORDER } from '../consent/consent.repository.js';
import { findPolicyInForce } from '../policies/policies.repository.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../shared/service-context.js';
import { JoinRequest } from './join.schemas.js';
import { confirmJoin, findSignupForLink, requestJoin } from './join.service.js';

export function joinRouter(svc: ServiceContext): Router {
  const router = Router();
  const schema = JoinRequest(svc.config.minAge);

  async function formLocals() {
    const [topics, policy] = await Promise.all([listOfferedTopics(svc.db), findPolicyInForce(svc.db)]);
    const groups = KIND_ORDER.map((kind) => ({ kind, ...KIND_LABELS[kind], topics: topics.filter((t) => t.kind === kind) })).filter(
      (g) => g.topics.length,
    );
    return { title: 'Join', groups, policy, minAge: svc.config.minAge, expiryHours: svc.config.signupExpiryHours };
  }

  router.get('/join', async (_req, res) => {
    const locals = await formLocals();
    // A fresh form ticks the topics staff marked as pre-ticked; the visitor can untick them, and
    // nothing takes effect until the address owner confirms (C15). Partner topics never are (C1).
    const ticked = locals.groups.flatMap((g) => g.topics.filter((t) => t.default_opt_in).map((t) => String(t.id)));
    res.render('members/join', { ...locals, input: { topics: ticked } });
  });

  router.post('/join', async (req, res) => {
    formView(res, 'members/join', await formLocals());
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
