import { withLogoAsDataUrl } from '../mail/branded.js';
import { Router, type Request } from 'express';
import { NotFoundError } from '../shared/errors.js';
import { formView, parseForm } from '../shared/http/forms.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { parseNumericId } from '../shared/ids.js';
import { KIND_NAMES } from '../consent/topics.schemas.js';
import { BulletinForm, ConfirmSend, SendWhen } from '../bulletins/bulletins.schemas.js';
import {
  bulletinProgress,
  bulletinsOverview,
  composeChoices,
  confirmSend,
  controlSending,
  createBulletin,
  deleteBulletin,
  findBulletinOr404,
  findDraftOr409,
  previewBulletin,
  sendPage,
  sendTest,
  updateBulletin,
} from '../bulletins/bulletins.service.js';

function idParam(req: Request): number {
  const id = parseNumericId(req.params.id);
  if (id === undefined) throw new NotFoundError('There is no bulletin with that number.');
  return id;
}

const FLASHES = ['created', 'saved', 'tested', 'sent', 'scheduled', 'paused', 'resumed', 'cancelled', 'retried', 'deleted'] as const;
const flashOf = (req: Request) => FLASHES.find((k) => k in req.query);

/** The preview's HTML part is a document of its own: inline styles only, nothing else loads or runs. */
const PREVIEW_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/** Staff screens for bulletins: compose, preview, test, confirm and send, follow the progress (C3, C4, C11). */
export function bulletinsAdminRouter(svc: ServiceContext): Router {
  const router = Router();
  const formLocals = async (title: string, bulletin: unknown = null) => ({
    title,
    bulletin,
    kindNames: KIND_NAMES,
    ...(await composeChoices(svc)),
  });

  router.get('/admin/bulletins', guardFor('GET', '/admin/bulletins'), async (req, res) => {
    res.render('admin/bulletins/index', { title: 'Bulletins', bulletins: await bulletinsOverview(svc), flash: flashOf(req) });
  });

  router.get('/admin/bulletins/new', guardFor('GET', '/admin/bulletins/new'), async (_req, res) => {
    res.render('admin/bulletins/form', { ...(await formLocals('New bulletin')), input: {} });
  });

  router.post('/admin/bulletins', guardFor('POST', '/admin/bulletins'), async (req, res) => {
    formView(res, 'admin/bulletins/form', () => formLocals('New bulletin'));
    const id = await createBulletin(svc, req.user!.id, parseForm(BulletinForm, req.body));
    res.redirect(303, `/admin/bulletins/${id}?created`);
  });

  router.get('/admin/bulletins/:id', guardFor('GET', '/admin/bulletins/:id'), async (req, res) => {
    const bulletin = await findBulletinOr404(svc, idParam(req));
    const progress = bulletin.started_at ? await bulletinProgress(svc, bulletin) : undefined;
    res.render('admin/bulletins/show', { title: bulletin.subject, bulletin, progress, flash: flashOf(req) });
  });

  router.get('/admin/bulletins/:id/edit', guardFor('GET', '/admin/bulletins/:id/edit'), async (req, res) => {
    const bulletin = await findDraftOr409(svc, idParam(req));
    res.render('admin/bulletins/form', {
      ...(await formLocals(`Edit ${bulletin.subject}`, bulletin)),
      input: { ...bulletin, topic_id: String(bulletin.topic_id), web_version: bulletin.web_version ? 'yes' : undefined },
    });
  });

  router.post('/admin/bulletins/:id', guardFor('POST', '/admin/bulletins/:id'), async (req, res) => {
    const bulletin = await findDraftOr409(svc, idParam(req));
    formView(res, 'admin/bulletins/form', () => formLocals(`Edit ${bulletin.subject}`, bulletin));
    await updateBulletin(svc, req.user!.id, bulletin.id, parseForm(BulletinForm, req.body));
    res.redirect(303, `/admin/bulletins/${bulletin.id}?saved`);
  });

  router.post('/admin/bulletins/:id/delete', guardFor('POST', '/admin/bulletins/:id/delete'), async (req, res) => {
    await deleteBulletin(svc, req.user!.id, idParam(req));
    res.redirect(303, '/admin/bulletins?deleted');
  });

  router.get('/admin/bulletins/:id/preview', guardFor('GET', '/admin/bulletins/:id/preview'), async (req, res) => {
    const preview = await previewBulletin(svc, idParam(req));
    res.render('admin/bulletins/preview', { title: `Preview: ${preview.bulletin.subject}`, ...preview });
  });

  router.get('/admin/bulletins/:id/preview/html', guardFor('GET', '/admin/bulletins/:id/preview/html'), async (req, res) => {
    const preview = await previewBulletin(svc, idParam(req));
    res.set('Content-Security-Policy', PREVIEW_CSP).type('html').send(withLogoAsDataUrl(preview.html, svc.brand.current()));
  });

  router.post('/admin/bulletins/:id/test', guardFor('POST', '/admin/bulletins/:id/test'), async (req, res) => {
    const id = idParam(req);
    await sendTest(svc, req.user!.id, id);
    res.redirect(303, `/admin/bulletins/${id}?tested`);
  });

  router.get('/admin/bulletins/:id/send', guardFor('GET', '/admin/bulletins/:id/send'), async (req, res) => {
    res.render('admin/bulletins/send', { title: 'Send a bulletin', ...(await sendPage(svc, idParam(req))), input: { when: 'now' } });
  });

  // The first step is a GET form: choosing when changes nothing; only the confirmation below does.
  router.get('/admin/bulletins/:id/confirm', guardFor('GET', '/admin/bulletins/:id/confirm'), async (req, res) => {
    const id = idParam(req);
    formView(res, 'admin/bulletins/send', async () => ({ title: 'Send a bulletin', ...(await sendPage(svc, id)) }));
    const when = parseForm(SendWhen, req.query);
    res.render('admin/bulletins/confirm', { title: 'Confirm sending', ...(await sendPage(svc, id)), when, input: {} });
  });

  router.post('/admin/bulletins/:id/confirm', guardFor('POST', '/admin/bulletins/:id/confirm'), async (req, res) => {
    const id = idParam(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    formView(res, 'admin/bulletins/confirm', async () => ({
      title: 'Confirm sending',
      ...(await sendPage(svc, id)),
      when: SendWhen.safeParse({ when: body.when, at: body.at }).data ?? { when: 'now' },
    }));
    const confirmed = parseForm(ConfirmSend, req.body);
    const when = parseForm(SendWhen, { when: confirmed.when, at: confirmed.at });
    await confirmSend(svc, req.user!.id, id, { ...when, audience: confirmed.audience });
    res.redirect(303, `/admin/bulletins/${id}?${when.when === 'now' ? 'sent' : 'scheduled'}`);
  });

  for (const action of ['pause', 'resume', 'cancel', 'retry'] as const) {
    const flash = { pause: 'paused', resume: 'resumed', cancel: 'cancelled', retry: 'retried' }[action];
    router.post(`/admin/bulletins/:id/${action}`, guardFor('POST', `/admin/bulletins/:id/${action}`), async (req, res) => {
      const id = idParam(req);
      await controlSending(svc, req.user!.id, id, action);
      res.redirect(303, `/admin/bulletins/${id}?${flash}`);
    });
  }

  return router;
}
