import { Router } from 'express';
import { audienceChoices, exportAudience } from '../consent/audience.service.js';
import { streamCsv } from '../exports/csv.js';
import { NotFoundError } from '../shared/errors.js';
import { parseNumericId } from '../shared/ids.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';

const COLUMNS = [
  { key: 'member_id', header: 'member_id' },
  { key: 'email', header: 'email' },
  { key: 'name', header: 'name' },
  { key: 'unsubscribe_url', header: 'unsubscribe_url' },
  { key: 'manage_url', header: 'manage_url' },
];

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
      // Each row carries the member's links for this topic, for the sending tool's footer and List-Unsubscribe (issue 12).
      send: (rows, filename) =>
        streamCsv(req, res, rows, {
          filename,
          columns: COLUMNS,
          map: (row) => ({ ...row, ...svc.links.forRecipient(String(row.member_id), topicId) }),
        }),
    });
  });

  return router;
}
