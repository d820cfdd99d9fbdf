import { Router } from 'express';
import { z } from 'zod';
import { NotFoundError } from '../shared/errors.js';
import type { ServiceContext } from '../context.js';
import { guardFor } from './guards.js';
import { EMAIL_STATUSES } from '../outbox/outbox.repository.js';
import { outboxPage, retryFailedEmail } from '../outbox/outbox.service.js';
import { isUuid } from '../shared/ids.js';

// An unknown status or page is not an error worth a page of its own: it shows every message, page 1.
const OutboxQuery = z.object({
  status: z
    .enum(EMAIL_STATUSES as [string, ...string[]])
    .optional()
    .catch(undefined),
  page: z.coerce.number().int().min(1).max(100000).catch(1),
});

/** The e-mail outbox (C11 oversight): what was queued, sent, failed or cancelled, and why. */
export function outboxAdminRouter(svc: ServiceContext): Router {
  const router = Router();

  router.get('/admin/outbox', guardFor('GET', '/admin/outbox'), async (req, res) => {
    const { status, page } = OutboxQuery.parse(req.query);
    const filter = status as (typeof EMAIL_STATUSES)[number] | undefined;
    const { messages, counts, hasNext } = await outboxPage(svc, { status: filter, page });
    const pageHref = (n: number) =>
      `/admin/outbox?${new URLSearchParams([...(filter ? [['status', filter]] : []), ['page', String(n)]]).toString()}`;
    res.render('admin/outbox/index', {
      title: 'E-mail outbox',
      messages,
      statuses: EMAIL_STATUSES,
      counts,
      status: filter ?? '',
      page,
      prevHref: page > 1 ? pageHref(page - 1) : undefined,
      nextHref: hasNext ? pageHref(page + 1) : undefined,
      retried: 'retried' in req.query,
    });
  });

  router.post('/admin/outbox/:id/retry', guardFor('POST', '/admin/outbox/:id/retry'), async (req, res) => {
    const id = String(req.params.id);
    if (!isUuid(id)) throw new NotFoundError('We could not find that message.');
    await retryFailedEmail(svc, req.user!.id, id.toLowerCase());
    res.redirect(303, '/admin/outbox?status=queued&retried');
  });

  return router;
}
