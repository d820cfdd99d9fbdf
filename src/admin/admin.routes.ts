import { Router } from 'express';
import { z } from 'zod';
import type { ServiceContext } from '../shared/service-context.js';
import { areasFor, guardByTable, guardFor, requireStaff, staffIdleTimeout } from './guards.js';
import { listAudit, listAuditActions } from './staff.repository.js';
import { staffAccountRoutes, staffSignInRoutes } from './staff-auth.routes.js';

export { ADMIN_ROUTES, type AdminRoute } from './guards.js';

const AUDIT_PAGE_SIZE = 50;
const AuditQuery = z.object({
  page: z.coerce.number().int().min(1).max(100000).catch(1),
  action: z.string().trim().max(100).optional().catch(undefined),
});

export function adminRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/admin', staffIdleTimeout);
  router.use(staffSignInRoutes(svc));
  // The sign-in pages above are public; everything after is checked against ADMIN_ROUTES first.
  router.use(guardByTable);

  router.get('/admin', guardFor('GET', '/admin'), (req, res) => {
    res.render('admin/index', { title: 'Staff administration', areas: areasFor(req.user!.role!) });
  });

  router.get('/admin/audit', guardFor('GET', '/admin/audit'), async (req, res) => {
    const { page, action } = AuditQuery.parse(req.query);
    const filter = action || undefined;
    const rows = await listAudit(svc.db, { action: filter, limit: AUDIT_PAGE_SIZE + 1, offset: (page - 1) * AUDIT_PAGE_SIZE });
    const actions = await listAuditActions(svc.db);
    res.render('admin/audit', {
      title: 'Audit log',
      entries: rows.slice(0, AUDIT_PAGE_SIZE),
      actions,
      action: filter ?? '',
      page,
      hasNext: rows.length > AUDIT_PAGE_SIZE,
    });
  });

  router.use(staffAccountRoutes(svc));
  // Feature routers: one line each.
  // Anything else under /admin is staff-only too, so an unlisted path never leaks to the public.
  router.use('/admin', requireStaff());
  return router;
}
