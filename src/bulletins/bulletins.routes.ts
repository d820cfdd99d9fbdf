import { Router } from 'express';
import type { ServiceContext } from '../context.js';
import { NotFoundError } from '../shared/errors.js';
import { parseNumericId } from '../shared/ids.js';
import { topicArchive, webVersion } from './bulletins.service.js';

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

function slugParam(raw: string): string {
  if (!SLUG.test(raw)) throw new NotFoundError('There is no such list.');
  return raw;
}

/**
 * The public side of bulletins: a topic's archive of past web versions, and each web version.
 * Both hold no personal data: no greeting, no member's links. The sample-link page is where a
 * preview's or test's footer links lead: it says what a member's own link does.
 */
export function bulletinsRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/bulletin-preview/:what', (req, res) => {
    const what = req.params.what;
    if (what !== 'unsubscribe' && what !== 'preferences') throw new NotFoundError();
    res.render('bulletins/sample-link', { title: 'A link in a preview', what });
  });

  router.get('/bulletins/:slug', async (req, res) => {
    const archive = await topicArchive(svc, slugParam(req.params.slug));
    res.render('bulletins/archive', { title: `${archive.topic.name}: past issues`, ...archive });
  });

  router.get('/bulletins/:slug/:id', async (req, res) => {
    const id = parseNumericId(req.params.id);
    if (id === undefined) throw new NotFoundError('There is no such bulletin.');
    const { bulletin, parts } = await webVersion(svc, slugParam(req.params.slug), id);
    res.render('bulletins/show', { title: bulletin.subject, bulletin, parts });
  });

  return router;
}
