import { Router } from 'express';
import { audienceChoices, exportAudience } from '../consent/audience.service.js';
import { streamCopyCsv } from '../exports/copy.js';
import { NotFoundError } from '../shared/errors.js';
import { parseNumericId } from '../shared/ids.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';

/** C12: audience lists hold only members opted in to the topic with a deliverable, unsuppressed address. */
export function audiencesAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/audiences', guardFor('GET', '/admin/audiences'), async (_req, res) => {
    res.render('admin/audiences/index', { title: 'Audience export', topics: await audienceChoices(svc) });
  });

  router.get('/admin/audiences/:id/csv', guardFor('GET', '/admin/audiences/:id/csv'), async (req, res) => {
    const topicId = parseNumericId(req.params.id);
    if (topicId === undefined) throw new NotFoundError('There is no such current topic.');
    await exportAudience(svc, req.user!.id, topicId, {
      head: req.method === 'HEAD',
      send: (csv, filename) => streamCopyCsv(req, res, svc.db, csv, { filename }),
    });
  });

  return router;
}
