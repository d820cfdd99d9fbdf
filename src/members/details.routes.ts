import { Router, type Request } from 'express';
import { requireMember, signedInRecently } from '../auth/passport.js';
import { renewSession } from '../auth/sessions.js';
import { ValidationError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import { ipPrefix } from '../shared/rate-limit.js';
import type { ServiceContext } from '../context.js';
import { ChangeEmail, UpdateDetails } from './details.schemas.js';
import {
  confirmEmailChange,
  EMAIL_VERIFY_MINUTES,
  getDetails,
  peekEmailChange,
  requestEmailChange,
  updateDetails,
} from './details.service.js';

const TITLE = 'Your details';

/** The outcome of the last save, carried through the redirect in the query (no personal data in it). */
function noticeFor(req: Request): string | undefined {
  if (req.query.saved === '1') return 'Your details are saved. We have sent you an e-mail confirming the change.';
  if (req.query.unchanged === '1') return 'Nothing was changed: these are the details we already had.';
  return undefined;
}

/**
 * C5: the member reviews and corrects their details. The /account pages need a session; the
 * /l/email link pages carry their own single-use token and work without cookies (C9).
 */
export function detailsRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/account/details', requireMember);

  router.get('/account/details', async (req, res) => {
    const member = await getDetails(svc, req.user!.id);
    res.render('account/details', { title: TITLE, member, notice: noticeFor(req) });
  });

  router.post('/account/details', async (req, res) => {
    const memberId = req.user!.id;
    formView(res, 'account/details', async () => ({ title: TITLE, member: await getDetails(svc, memberId) }));
    const { changed } = await updateDetails(svc, memberId, parseForm(UpdateDetails, req.body));
    res.redirect(303, changed ? '/account/details?saved=1' : '/account/details?unchanged=1');
  });

  router.post('/account/details/email', async (req, res) => {
    const memberId = req.user!.id;
    formView(res, 'account/details', async () => ({ title: TITLE, member: await getDetails(svc, memberId) }));
    const { email } = parseForm(ChangeEmail, req.body);
    // The address is what every sign-in link goes to, so changing it needs fresh proof of control,
    // not just a session that may have been left open on a shared computer (DESIGN: security decisions).
    if (!signedInRecently(req.user)) {
      throw new ValidationError(
        {
          email:
            'For your security, changing your e-mail address needs a recent sign-in. Please sign out, sign in again with a fresh link, and change it within 15 minutes.',
        },
        { email },
      );
    }
    await requestEmailChange(svc, { memberId, email, network: ipPrefix(req.ip) });
    res.render('account/email-sent', { title: 'Check your new address', email, minutes: EMAIL_VERIFY_MINUTES });
  });

  router.get('/l/email/:token', async (req, res) => {
    const { email } = await peekEmailChange(svc, req.params.token);
    res.render('members/email-confirm', { title: 'Confirm your new address', email, action: `/l/email/${req.params.token}` });
  });

  router.post('/l/email/:token', async (req, res) => {
    const own = req.user?.kind === 'member' ? req.user.id : undefined;
    const { email, changed, memberId } = await confirmEmailChange(svc, req.params.token, own ? req.sessionID : undefined);
    if (changed && own === memberId) await renewSession(req);
    res.render('members/email-changed', { title: 'Your address is changed', email, changed });
  });

  return router;
}
