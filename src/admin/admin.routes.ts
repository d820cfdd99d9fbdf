import { Router } from 'express';
import { z } from 'zod';
import type { ServiceContext } from '../shared/service-context.js';
import { ADMIN_ROUTES, guardFor, requireStaff, staffIdleTimeout } from './guards.js';
import { listAudit, listAuditActions, type StaffRole } from './staff.repository.js';
import { staffAccountRoutes, staffSignInRoutes } from './staff-auth.routes.js';

export { ADMIN_ROUTES, type AdminRoute } from './guards.js';

const AUDIT_PAGE_SIZE = 50;
const AuditQuery = z.object({
  page: z.coerce.number().int().min(1).max(100000).catch(1),
  action: z.string().trim().max(100).optional().catch(undefined),
});

/** The areas each role may use, shown on /admin; only what the role can open is listed. */
function areasFor(role: StaffRole): { href: string; label: string; hint: string }[] {
  const areas = [
    { href: '/admin/password', label: 'Your account: password', hint: 'Change your password.' },
    { href: '/admin/totp/setup', label: 'Your account: two-factor sign-in', hint: 'Set up the code from an authenticator app.' },
  ];
  if (ADMIN_ROUTES.some((r) => r.path === '/admin/audit' && r.roles.includes(role)))
    areas.push({ href: '/admin/audit', label: 'Audit log', hint: 'What staff did, newest first.' });
  return areas;
}

export function adminRouter(svc: ServiceContext): Router {
  const router = Router();
  router.use('/admin', staffIdleTimeout);
  router.use(staffSignInRoutes(svc));

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
  // Anything else under /admin is staff-only too, so an unlisted path never leaks to the public.
  router.use('/admin', requireStaff());
  return router;
}
