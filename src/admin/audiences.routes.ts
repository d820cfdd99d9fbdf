import { Router } from 'express';
import { streamCsv } from '../exports/csv.js';
import { NotFoundError } from '../shared/errors.js';
import { parseNumericId } from '../shared/ids.js';
import type { ServiceContext } from '../shared/service-context.js';
import { audienceRowsQuery, audienceTopics, findCurrentTopic } from '../consent/audience.repository.js';
import { guardFor } from './guards.js';
import { appendAudit } from '../audit/audit.repository.js';

function topicId(raw: unknown): number {
  const id = parseNumericId(raw);
  if (id === undefined) throw new NotFoundError('There is no such current topic.');
  return id;
}

/** C12: audience lists hold only members opted in to the topic with a deliverable, unsuppressed address. */
export function audiencesAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/audiences', guardFor('GET', '/admin/audiences'), async (_req, res) => {
    res.render('admin/audiences/index', { title: 'Audience export', topics: await audienceTopics(svc.db, svc.keys.suppression) });
  });

  /**
   * Two audit entries: one before the first row leaves (so even a process that dies mid-download
   * leaves a record), and one when the stream ends with the row count, which only then is known; a
   * download the client broke off is logged with the rows sent so far and completed: false.
   */
  router.get('/admin/audiences/:id/csv', guardFor('GET', '/admin/audiences/:id/csv'), async (req, res) => {
    const topic = await findCurrentTopic(svc.db, topicId(String(req.params.id)));
    if (!topic) throw new NotFoundError('There is no such current topic.');
    if (req.method !== 'HEAD')
      await appendAudit(svc.db, { staffUserId: req.user!.id, action: 'audience.export_started', details: { topicId: topic.id } });
    const result = await streamCsv(req, res, audienceRowsQuery(svc.db, topic.id, svc.keys.suppression), {
      filename: `audience-${topic.slug}-${new Date().toISOString().slice(0, 10)}.csv`,
      columns: [
        { key: 'member_id', header: 'member_id' },
        { key: 'email', header: 'email' },
        { key: 'name', header: 'name' },
      ],
    });
    if (req.method === 'HEAD') return;
    await appendAudit(svc.db, {
      staffUserId: req.user!.id,
      action: 'audience.exported',
      details: { topicId: topic.id, rows: result.rows, completed: result.completed },
    });
  });

  return router;
}
