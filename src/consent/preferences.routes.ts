import { Router } from 'express';
import { requireMember } from '../auth/passport.js';
import { readManageLink } from '../identity/manage-links.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { SetPreferences } from './consent.schemas.js';
import { preferencesPage, saveChoices, type ChoiceSource } from './consent.service.js';

const VIEW = 'consent/preferences';

/**
 * The preference page, reached two ways: signed in (/preferences, session + CSRF) or from the
 * signed manage link in any e-mail (/p/:token, no cookie needed: the token is the credential, C9).
 */
export function preferencesRouter(svc: ServiceContext): Router {
  const router = Router();

  /** viaLink: the manage link's issue time (seconds), checked against the member's last e-mail change. */
  async function pageLocals(memberId: string, action: string, viaLink: false | { issuedAt: number }) {
    const page = await preferencesPage(svc, memberId, viaLink || undefined);
    return { title: 'What we send you', ...page, action, viaLink: viaLink !== false };
  }

  /** Saves the form; a bad submission re-renders the page with the message and the stored choices. */
  async function save(
    res: Parameters<typeof formView>[0],
    memberId: string,
    action: string,
    viaLink: false | { issuedAt: number },
    body: unknown,
    by: ChoiceSource,
  ) {
    formView(res, VIEW, () => pageLocals(memberId, action, viaLink));
    const form = parseForm(SetPreferences, body);
    const changes = await saveChoices(svc, { memberId, link: viaLink || undefined, ...form, ...by });
    res.redirect(303, `${action}?saved=${changes.length}`);
  }

  function fromLink(token: string): { memberId: string; link: { issuedAt: number } } {
    const { memberId, issuedAt } = readManageLink(svc.links, token);
    return { memberId, link: { issuedAt } };
  }

  const savedCount = (q: unknown) => (typeof q === 'string' && /^\d{1,3}$/.test(q) ? Number(q) : undefined);

  router.get('/preferences', requireMember, async (req, res) =>
    res.render(VIEW, { ...(await pageLocals(req.user!.id, '/preferences', false)), saved: savedCount(req.query.saved) }),
  );
  router.post('/preferences', requireMember, (req, res) =>
    save(res, req.user!.id, '/preferences', false, req.body, { source: 'member_web', channel: 'web' }),
  );

  router.get('/p/:token', async (req, res) => {
    const { memberId, link } = fromLink(req.params.token);
    res.render(VIEW, { ...(await pageLocals(memberId, `/p/${req.params.token}`, link)), saved: savedCount(req.query.saved) });
  });
  router.post('/p/:token', (req, res) => {
    const { memberId, link } = fromLink(req.params.token);
    return save(res, memberId, `/p/${req.params.token}`, link, req.body, { source: 'member_link', channel: 'web' });
  });

  return router;
}
