import { Router } from 'express';
import { requireMember } from '../auth/passport.js';
import type { ServiceContext } from '../context.js';
import { formatRemovalDate, graceText, REMOVAL_MEANS } from './removal.emails.js';
import {
  cancelRemoval,
  confirmRemoval,
  currentRemoval,
  findRemovalForLink,
  REMOVAL_LINK_MINUTES,
  requestRemoval,
} from './removal.service.js';

/** Notices named in the redirect after a POST; the query only picks one, it is never shown itself. */
const NOTICES = new Map([['cancelled', 'Your removal request is cancelled. We have sent you an e-mail to confirm this.']]);

/**
 * Removal requests, member side (C6). The account page asks; only the single-use link mailed to
 * the member's address confirms (/l/removal/:token works without a cookie: the token is the
 * credential, and its GET shows a button, because mail scanners follow links).
 */
export function removalRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/account/removal', requireMember);

  const common = {
    means: REMOVAL_MEANS,
    grace: graceText(svc.config.removalGraceDays),
    minutes: REMOVAL_LINK_MINUTES,
    formatDate: (d: Date) => formatRemovalDate(d, svc.config.orgTimeZone),
  };

  router.get('/account/removal', async (req, res) => {
    const request = await currentRemoval(svc, req.user!.id);
    res.render('removal/index', { ...common, title: 'Remove your data', request, notice: NOTICES.get(String(req.query.notice)) });
  });

  router.post('/account/removal', async (req, res) => {
    const outcome = await requestRemoval(svc, req.user!.id);
    if (outcome.sent) return res.render('removal/sent', { ...common, title: 'Check your e-mail', sentTo: outcome.sentTo });
    res.render('removal/index', {
      ...common,
      title: 'Remove your data',
      request: outcome.request,
      notice: 'You already have a removal request, shown below, so we sent no new link.',
    });
  });

  router.post('/account/removal/cancel', async (req, res) => {
    await cancelRemoval(svc, req.user!.id);
    res.redirect(303, '/account/removal?notice=cancelled');
  });

  router.get('/l/removal/:token', async (req, res) => {
    const request = await findRemovalForLink(svc, req.params.token);
    if (request.status !== 'unconfirmed')
      return res.render('removal/done', { ...common, title: 'Your removal request', request, justConfirmed: false });
    res.render('removal/confirm', { ...common, title: 'Remove your data?', action: `/l/removal/${req.params.token}` });
  });

  router.post('/l/removal/:token', async (req, res) => {
    const { request, justConfirmed } = await confirmRemoval(svc, req.params.token);
    res.render('removal/done', { ...common, title: 'Your removal request', request, justConfirmed });
  });

  return router;
}
